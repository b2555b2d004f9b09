# syntax=docker/dockerfile:1
# The farm API (NestJS). Build from the repository root:
#   docker build -f docker/api.Dockerfile -t streamedit/api .
# No GPU: onnxruntime-node keeps the CPU binary that ships in its npm package (install script skipped).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# ffprobe validates uploads before they are queued.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 STREAMEDIT_LOG_LEVEL=info
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The admin dashboard's static page (plain files, not compiled: served from the sources' path).
COPY --from=build /app/apps/api/src/admin/static apps/api/src/admin/static
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/api/src/main.js"]
