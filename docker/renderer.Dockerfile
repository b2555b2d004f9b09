# syntax=docker/dockerfile:1
# The renderer: ONNX correspondence inference on CUDA for each ARR window, then ffmpeg muxing. Build from the
# repository root:
#   docker build -f docker/renderer.Dockerfile -t streamedit/renderer .
# GPU image: onnxruntime-node's install script runs (NOT skipped) and fetches the CUDA 12 execution provider
# (cuDNN 9 comes with the base image). It must be asked for explicitly: at the project root npm counts as a
# "local install" and the script would otherwise skip.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS node

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The correspondence model and the backbone run on the GPU (ops CUDA lacks fall back to the CPU).
ENV NODE_ENV=production STREAMEDIT_LOG_LEVEL=info STREAMEDIT_ORT_PROVIDER=cuda
RUN useradd --create-home --uid 10001 farm
USER farm
CMD ["node", "dist/apps/renderer/src/main.js"]
