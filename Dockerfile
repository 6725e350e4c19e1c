# syntax=docker/dockerfile:1
# One image, three entry points: `openpds serve` (API server, the default), `openpds worker`,
# `openpds operator`. Sources stay TypeScript: tsx (a runtime dependency) compiles them on load, as
# bin/openpds.js says, so there is no separate compile stage to keep in step.

# Build stage: production dependencies only. argon2 ships prebuilt binaries for glibc; the toolchain is
# here for the platforms where it must compile, and stays out of the runtime image.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: node, the dependencies and the sources, run as a fixed non-root uid that the charts'
# securityContext (runAsUser 10001) and the restricted Pod Security Standard expect.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    OPENPDS_DATA_DIR=/var/lib/openpds
RUN groupadd --system --gid 10001 openpds \
 && useradd --system --uid 10001 --gid openpds --home-dir /var/lib/openpds --no-create-home openpds \
 && mkdir -p /var/lib/openpds \
 && chown openpds:openpds /var/lib/openpds
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY api-server ./api-server
COPY workers ./workers
COPY operator ./operator
COPY crds ./crds
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/openpds.js"]
CMD ["serve"]
