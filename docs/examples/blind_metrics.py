"""Blind metrics follow the degradation: sharpness against blur, SNR against noise.

Blurs the scene with Gaussian PSFs of growing sigma and measures the edge-method RER (no
reference image needed); adds Gaussian noise of growing sigma and measures the blind SNR.
Prints both tables and checks the expected direction: RER falls with blur, SNR with noise.

Usage: ``python blind_metrics.py [SCENE]`` (default ``pan.tif``; a generated scene when absent).
"""

import sys
from pathlib import Path

import iqx
from iqx import metrics
from iqx.metrics.snr import flat_summary as snr_summary
from iqx.modifiers import gaussian_blur, gaussian_noise
from iqx.testing.sample import sample_scene

path = Path(sys.argv[1] if len(sys.argv) > 1 else "pan.tif")
scene = iqx.open_scene(path) if path.exists() else sample_scene(256)

print("blur sigma (px)   RER x   RER y")
rer = []
for sigma in (0.5, 1.0, 2.0):
    s = metrics.sharpness.flat_summary(gaussian_blur(scene, sigma=sigma))
    rer.append(s["rer_all"])
    print(f"{sigma:15.1f}   {s['rer_x']:.3f}   {s['rer_y']:.3f}")

print("noise sigma (DN)   SNR")
snr = []
for sigma in (10, 40, 160):
    s = snr_summary(gaussian_noise(scene, sigma=sigma, seed=0))
    snr.append(s["snr"])
    print(f"{sigma:16d}   {s['snr']:.1f}")

assert rer[0] > rer[1] > rer[2], rer
assert snr[0] > snr[1] > snr[2], snr
