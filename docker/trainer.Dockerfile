# syntax=docker/dockerfile:1
# The trainer: analysis (ffmpeg, MediaPipe landmarks in headless Chromium, backbone features with onnxruntime) and
# per-video training with PyTorch on CUDA. Build from the repository root:
#   docker build -f docker/trainer.Dockerfile -t streamedit/trainer .
# GPU image: onnxruntime-node's install script runs (NOT skipped) and fetches the CUDA 12 execution provider.
# It must be asked for explicitly: at the project root npm counts as a "local install" and the script would skip.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS node

FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY python python
# Headless Chromium for MediaPipe (playwright-core's download, with its system libraries), at a fixed path.
ENV PLAYWRIGHT_BROWSERS_PATH=/opt/ms-playwright
RUN node node_modules/playwright-core/cli.js install --with-deps chromium-headless-shell \
 && ln -s "$(ls -d /opt/ms-playwright/chromium_headless_shell-*/chrome-*/headless_shell | head -n 1)" /usr/local/bin/chromium-headless-shell \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    STREAMEDIT_LOG_LEVEL=info \
    STREAMEDIT_PYTHON=/opt/conda/bin/python \
    STREAMEDIT_CHROMIUM=/usr/local/bin/chromium-headless-shell \
    STREAMEDIT_ORT_PROVIDER=cuda \
    FARM_TRAIN_DEVICE=gpu
RUN useradd --create-home --uid 10001 farm && mkdir -p /home/farm/.cache && chown -R farm /home/farm
USER farm
CMD ["node", "dist/apps/trainer/src/main.js"]
