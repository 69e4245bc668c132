# syntax=docker/dockerfile:1
# The kubeloop operators. Node 24 runs the TypeScript sources directly (type stripping), so
# there is no build step: the image holds production dependencies and the sources.
#   docker build -t ghcr.io/kubeloop/kubeloop:0.1.0 .

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the `node` dev dependency (the project's own Node 24) is left out
# because the base image already is Node 24.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY framework ./framework
COPY operators ./operators
# The image's `node` user (uid 1000) is replaced by a fixed non-root uid the chart also uses.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "operators/main.ts"]
