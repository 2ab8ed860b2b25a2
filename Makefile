# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
# Where torch comes from. Empty: the default index (on these machines it serves the CPU wheel).
# On an ordinary Linux machine PyPI's torch is the CUDA build (several GB of NVIDIA packages):
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup run index ask test lint bot bench clean

## setup: virtual environment with the CPU torch wheel, the project and its dev tools
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU-only torch first, pinned: nothing later may replace it with a CUDA build. It serves the
	# one-time model export, the torch/onnx backends and the tests; indexing and answering with
	# the exported model never import it.
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## run: index ./seeds, then open the question loop
run: setup
	$(BIN)/ragbot index
	$(BIN)/ragbot ask

index: setup
	$(BIN)/ragbot index

## test: lint and the whole test suite (real model included); .ci/run calls this
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bot: run the Telegram bot (needs RAGBOT_TELEGRAM_TOKEN)
bot: setup
	$(BIN)/ragbot serve

## bench: quick benchmarks (seeds, then a 10k-passage synthetic corpus), JSON on stdout
bench: setup
	$(BIN)/python -m bench.run --quick
	$(BIN)/python -m bench.scale --passages 10000 --sample 1000

clean:
	rm -rf $(VENV) data .pytest_cache
