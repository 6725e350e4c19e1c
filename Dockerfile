# syntax=docker/dockerfile:1
# One image, three entry points: `openpds serve` (API server, the default), `openpds worker`,
# `openpds operator`. The image carries the JavaScript `npm run build` compiles to dist/, not the
# TypeScript sources: no tsx compiling at start (idle RSS, see bin/openpds.js).

# Build stage: all dependencies to compile, then production dependencies only. argon2 ships prebuilt
# binaries for glibc; the toolchain is here for the platforms where it must compile, and stays out of the
# runtime image.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY cli ./cli
COPY api-server/src ./api-server/src
COPY workers/src ./workers/src
COPY operator/src ./operator/src
COPY crds ./crds
# The build (bin/build-steps.js: swc to CommonJS, and a stamp naming the sources it was built from).
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: node, the production dependencies and dist/, run as a fixed non-root uid that the charts'
# securityContext (runAsUser 10001) and the restricted Pod Security Standard expect.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    OPENPDS_DATA_DIR=/var/lib/openpds
RUN groupadd --system --gid 10001 openpds \
 && useradd --system --uid 10001 --gid openpds --home-dir /var/lib/openpds --no-create-home openpds \
 && mkdir -p /var/lib/openpds \
 && chown openpds:openpds /var/lib/openpds
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER 10001:10001
EXPOSE 8080
# The bin itself, not `node bin/openpds.js`: its shebang holds the Node flags (one place for them).
ENTRYPOINT ["/app/bin/openpds.js"]
CMD ["serve"]
