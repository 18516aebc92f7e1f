# driftwatch worker image. No build tools at run time: the compiled package (`npm pack`) and production
# dependencies only, as a non-root user. test/integration/package.test.ts builds the same file tree
# (tarball + lock file + `npm ci --omit=dev`) and runs a worker from it against a real stack.
#
#   docker build -t driftwatch .
#   docker run -v $PWD/topologies/prod.yaml:/etc/driftwatch/topology.yaml:ro -e DRIFTWATCH_KAFKA_PASSWORD=... -p 9464:9464 driftwatch

# --- build: compile and pack exactly what package.json "files" ships
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/driftwatch-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/

# --- run
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/ ./
RUN ln -s /app/bin/driftwatch.js /usr/local/bin/driftwatch
# The node image's unprivileged user (uid 1000); the file system can be mounted read-only.
USER node
# /metrics, /healthz and /readyz (sinks.metrics.port).
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["driftwatch"]
CMD ["run", "--topology", "/etc/driftwatch/topology.yaml"]
