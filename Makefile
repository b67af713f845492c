# Kutip: `make run` and `make test` are the two commands a newcomer needs.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
KUTIP  := $(VENV)/bin/kutip
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast fuzz lint format index bench eval clean llama-server emulator

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned to the CPU build: any other spec pulls a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test,eval]'
	touch $(STAMP)

install: $(STAMP)

## Set up, build the index if needed, then start the Telegram bot (or the local chat without a token).
run: $(STAMP)
	$(KUTIP) index
	$(KUTIP) run

## Unit tests with fakes, then end-to-end tests with the real embedded models.
test: $(STAMP) emulator
	$(PY) -m pytest -q

## telegram-test-api, the third-party Bot API emulator tests/test_telegram_emulator.py drives `kutip run` with,
## installed from tests/emulator/package-lock.json (npm ci, once); without npm its tests are skipped.
EMULATOR_DIR := tests/emulator
emulator:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the telegram-test-api tests (tests/test_telegram_emulator.py) will be skipped"; \
	elif [ ! $(EMULATOR_DIR)/node_modules/.package-lock.json -nt $(EMULATOR_DIR)/package-lock.json ]; then \
		npm ci --prefix $(EMULATOR_DIR) --no-audit --no-fund; \
	fi

## ruff: the linter and the formatter's check (line length 120; see pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e"

## Property-based hostile input (Hypothesis) through the core and the Telegram handlers, on 127.0.0.1
## only, with fake models; bounded by KUTIP_FUZZ_EXAMPLES per property (default 150) and 15 minutes.
fuzz: $(STAMP)
	timeout 900 $(PY) -m pytest -q -s --fuzz tests/fuzz

index: $(STAMP)
	$(KUTIP) index

## Speed and memory on the seed article; prints a table and saves JSON under bench/results/.
bench: $(STAMP)
	$(PY) -m evaluation.bench

## llama.cpp's own `llama-server` (several slots), built from the llama.cpp sources vendored in the
## llama-cpp-python sdist of the installed version (PyPI only; no curl, no OpenSSL, no web UI download).
## Not part of `make test`; ~10 min on 2 cores. `make bench` uses it for the 1- and 2-slot run when it exists.
LLAMA_SERVER_DIR := data/llama-server
LLAMA_SERVER     := $(LLAMA_SERVER_DIR)/bin/llama-server
llama-server: $(LLAMA_SERVER)

$(LLAMA_SERVER): | $(STAMP)
	rm -rf $(LLAMA_SERVER_DIR)/src && mkdir -p $(LLAMA_SERVER_DIR)/src $(LLAMA_SERVER_DIR)/bin
	version=$$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)') && \
	$(PIP) download --quiet --no-binary :all: --no-deps "llama-cpp-python==$$version" -d $(LLAMA_SERVER_DIR)/src && \
	tar -xzf $(LLAMA_SERVER_DIR)/src/llama_cpp_python-$$version.tar.gz -C $(LLAMA_SERVER_DIR)/src && \
	cmake -S $(LLAMA_SERVER_DIR)/src/llama_cpp_python-$$version/vendor/llama.cpp -B $(LLAMA_SERVER_DIR)/build \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
		-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
	cmake --build $(LLAMA_SERVER_DIR)/build --target llama-server -j 2
	cp $(LLAMA_SERVER_DIR)/build/bin/llama-server $(LLAMA_SERVER)
	rm -rf $(LLAMA_SERVER_DIR)/src $(LLAMA_SERVER_DIR)/build
	$(LLAMA_SERVER) --version

eval: $(STAMP)
	$(PY) -m evaluation --bench ../shared/bench/xquad-en --split dev --retrieval-only
	$(PY) -m evaluation --bench ../shared/bench/facqa-id --split dev --retrieval-only

clean:
	rm -rf $(VENV) data .pytest_cache
