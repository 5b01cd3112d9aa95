#!/usr/bin/env bash
# Fetches the photographs the face detector's tests use (tests/presence.rs) from
# PyPI: the scikit-image wheel ships them in skimage/data. Only pictures whose
# license skimage/data/_fetchers.py states as free are taken: with a face,
# astronaut.png (NASA, public domain) and camera.png (CC0, Lav Varshney); without,
# coffee, chelsea (a cat), brick, grass, gravel, horse, cell (CC0), rocket, text,
# clock_motion, retina (public domain), coins, ihc (no known restrictions). They
# are not committed. Usage: scripts/test-pictures.sh [DIR] (default target/test-pictures).
set -euo pipefail
dir=${1:-target/test-pictures}
version=0.26.0
pictures="astronaut.png camera.png coffee.png rocket.jpg brick.png chelsea.png grass.png
gravel.png horse.png text.png coins.png retina.jpg clock_motion.png cell.png ihc.png"
have=1
for p in $pictures; do [ -f "$dir/$p" ] || have=0; done
[ "$have" = 1 ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One fixed wheel, whatever the local Python: the pictures are the same in each.
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux_2_28_x86_64 \
  "scikit-image==$version" -d "$tmp"
mkdir -p "$dir"
python3 - "$tmp" "$dir" $pictures <<'PY'
import glob, os, sys, zipfile
tmp, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
(wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    for n in names:
        with open(os.path.join(out, n), "wb") as f:
            f.write(z.read("skimage/data/" + n))
PY
echo "test pictures in $dir (scikit-image $version)"
