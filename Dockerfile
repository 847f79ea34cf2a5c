# syntax=docker/dockerfile:1
# Multi-stage: build with the dev toolchain, run with production dependencies only, as a non-root user.
#   docker build -t nerve .      docker run -p 3000:3000 -p 18000:18000 nerve control-plane
# Commands: control-plane (default), router, engine, demo. Settings come from the environment (README).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
# npm ci runs the prepare script (git hooks: a no-op outside a work tree); the build compiles to dist/.
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LOG_DIR=/var/log/nerve
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY bin ./bin
COPY proto ./proto
COPY package.json buf.yaml ./
# The only writable places: the log directory (a volume in compose and Kubernetes) and /tmp.
RUN mkdir -p /var/log/nerve && chown node:node /var/log/nerve
# uid 1000 (node): Kubernetes' runAsNonRoot needs a numeric user to verify.
USER 1000:1000
# REST/WebSocket/dashboard, xDS + admin gRPC, router ingress, router admin.
EXPOSE 3000 18000 50051 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
ENTRYPOINT ["/app/bin/docker-entrypoint.sh"]
CMD ["control-plane"]
