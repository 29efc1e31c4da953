"""How long ``import iqx`` takes in a fresh interpreter (it must stay light)."""


def timeraw_import_iqx():
    """``import iqx`` must not pull rasterio, imagecodecs, mlflow, sagemaker or boto3."""
    return """
    import iqx
    """
