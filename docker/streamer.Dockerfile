# syntax=docker/dockerfile:1
# The streamer: hosts the live sessions of /v1/streams (MediaPipe landmarks in headless Chromium, XFeat and the
# fitted model in onnxruntime, a warm-up's fit with PyTorch on the CPU), so the API process never runs them.
# Build from the repository root:
#   docker build -f docker/streamer.Dockerfile -t streamedit/streamer .
# CPU image: onnxruntime-node keeps the CPU binary that ships in its npm package (install script skipped); Chromium
# and PyTorch are the Debian packages scripts/setup.sh installs (chromium-headless-shell, python3-torch 1.13 CPU).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# As scripts/setup.sh: media (ffmpeg), the landmark host (Chromium), a warm-up's trainer (PyTorch + OpenBLAS).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg chromium-headless-shell python3-torch python3-numpy libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY python python
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    FARM_STREAMER_PORT=3001 \
    STREAMEDIT_LOG_LEVEL=info \
    STREAMEDIT_PYTHON=/usr/bin/python3 \
    STREAMEDIT_CHROMIUM=/usr/bin/chromium-headless-shell \
    STREAMEDIT_ORT_PROVIDER=cpu
RUN useradd --create-home --uid 10001 farm && mkdir -p /home/farm/.cache && chown -R farm /home/farm
USER farm
EXPOSE 3001
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FARM_STREAMER_PORT||3001)+'/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/streamer/src/main.js"]
