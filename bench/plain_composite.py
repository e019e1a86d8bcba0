"""The plain reference as its own process (issue 11's "plus process start"): torch + numpy + PIL only — read the
files, resize, tile each swatch with ``torch.repeat``, multiply by luminance / paper white, composite inside the
binary masks, write the PNG. Compare with the CLI, both in fresh processes:

  S=samples/sketches/dress.png; M=samples/masks
  /usr/bin/time -f "%e s wall %U+%S cpu" .venv/bin/python bench/plain_composite.py $S /tmp/ref.png 1024 \
      $M/dress__bodice.png samples/swatches/tartan.png $M/dress__skirt.png samples/swatches/floral.png
  /usr/bin/time -f "%e s wall %U+%S cpu" .venv/bin/python -m garmentstyle render $S --size 1024 --out /tmp/gs.png \
      --region $M/dress__bodice.png=samples/swatches/tartan.png --region $M/dress__skirt.png=samples/swatches/floral.png --quiet

Usage: plain_composite.py SKETCH OUT.png SIZE MASK SWATCH [MASK SWATCH ...]
"""
import sys
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
torch.set_num_threads(2)
def img(p, mode="RGB"):
    a = np.asarray(Image.open(p).convert(mode), np.float32) / 255
    return torch.from_numpy(a).permute(2, 0, 1)[None] if a.ndim == 3 else torch.from_numpy(a)[None, None]
sk_p, out_p, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
parts = list(zip(sys.argv[4::2], sys.argv[5::2]))
sk = img(sk_p); nh, nw = sk.shape[-2:]; s = size / max(nh, nw); oh, ow = round(nh * s), round(nw * s)
sk = F.interpolate(sk, size=(oh, ow), mode="bilinear", antialias=True)
lum = 0.299 * sk[:, :1] + 0.587 * sk[:, 1:2] + 0.114 * sk[:, 2:3]
shade = (lum / torch.quantile(lum.flatten()[::16], 0.98)).clamp(0, 1)
out = sk.clone()
for mp, sp in parts:
    m = F.interpolate(img(mp, "L"), size=(oh, ow), mode="bilinear", antialias=True)[0, 0] >= 0.5
    sw = img(sp); rh, rw = max(1, round(sw.shape[-2] * ow / nw)), max(1, round(sw.shape[-1] * ow / nw))
    t = F.interpolate(sw, size=(rh, rw), mode="bilinear", antialias=True).repeat(1, 1, -(-oh // rh), -(-ow // rw))[..., :oh, :ow]
    out = torch.where(m, t * shade, out)
Image.fromarray((out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)).save(out_p)
