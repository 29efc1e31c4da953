"""Rate-quality curves: JPEG, JPEG 2000 and quantization of one scene.

For each setting: the bits per pixel the codec needs (``data_volume``) and the PSNR and SSIM
of the decoded scene against the original. Writes ``rate_quality.csv`` and
``rate_quality.png`` and prints the cheapest setting of each family with SSIM >= 0.95.

Usage: ``python rate_quality.py [SCENE]`` (default ``pan.tif``; a generated scene when absent).
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import iqx
from iqx import metrics
from iqx.modifiers import data_volume, jpeg, jpeg2000, quantize
from iqx.testing.sample import sample_scene

path = Path(sys.argv[1] if len(sys.argv) > 1 else "pan.tif")
scene = iqx.open_scene(path) if path.exists() else sample_scene(256)

settings = {
    "jpeg": [jpeg(quality=q) for q in (10, 30, 50, 70, 90)],
    "jpeg2000": [jpeg2000(ratio=r) for r in (40, 20, 10, 5)],
    "quantize": [quantize(bits=b) for b in (4, 5, 6, 7)],
}
rows = []
for family, modifiers in settings.items():
    for m in modifiers:
        out = m(scene)
        rows.append(
            {
                "family": family,
                "setting": m.folder_name,
                # a codec's compressed size; quantization keeps `bits` bits per pixel
                "bits_per_pixel": (
                    m.params["bits"]
                    if family == "quantize"
                    else data_volume(scene, m)["bits_per_pixel"]
                ),
                "psnr": float(metrics.psnr(scene, out)["psnr"].compute()),
                "ssim": float(metrics.ssim(scene, out)["ssim"].compute()),
            }
        )
table = pd.DataFrame(rows).sort_values(["family", "bits_per_pixel"])
table.to_csv("rate_quality.csv", index=False)
print(table.to_string(index=False, float_format="%.3f"))

fig, ax = plt.subplots(figsize=(6, 4))
for family, group in table.groupby("family"):
    ax.plot(group["bits_per_pixel"], group["ssim"], "o-", label=family)
ax.axhline(0.95, color="grey", lw=0.8, ls="--")
ax.set(xscale="log", xlabel="bits per pixel", ylabel="SSIM", title=path.name)
ax.legend()
fig.tight_layout()
fig.savefig("rate_quality.png", dpi=100)

for family, group in table.groupby("family"):
    good = group[group["ssim"] >= 0.95]
    best = good.nsmallest(1, "bits_per_pixel")
    answer = (
        "none"
        if best.empty
        else f"{best.iloc[0]['setting']} ({best.iloc[0]['bits_per_pixel']:.2f} bpp)"
    )
    print(f"cheapest {family} with SSIM >= 0.95: {answer}")
# more compression never buys quality: SSIM rises with the bits per pixel in every family
for family, group in table.groupby("family"):
    assert group["ssim"].is_monotonic_increasing, family
