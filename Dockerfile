# syntax=docker/dockerfile:1
# Multi-stage: build with the dev toolchain, run with production dependencies only, as a non-root user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
# npm ci runs the prepare script, which compiles to dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY proto ./proto
COPY package.json buf.yaml ./
USER node
# REST/WebSocket, xDS + admin gRPC, router ingress, router admin.
EXPOSE 3000 18000 50051 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/api/v1/nerve/health').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))"
ENTRYPOINT ["/app/bin/docker-entrypoint.sh"]
CMD ["control-plane"]
