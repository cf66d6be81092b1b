# syntax=docker/dockerfile:1
# The clone-cqrs application image: one image for every role (`bun src/main.ts --role <role>`) and for
# migrations (`bun run migrate`). Bun runs the TypeScript sources directly; there is no build step.

# Dependencies first, so that a change to the sources does not reinstall them. Only `dependencies`
# (--production): tooling (biome, buf, typescript) and test libraries stay out of the image.
FROM oven/bun:1.4 AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4
WORKDIR /app
ENV NODE_ENV=production
# Bun's idle GC timer runs a full collection about every second while the heap grows, which cost a gateway at
# low load more CPU than its own JavaScript (README, "Runtime settings"); JavaScriptCore's own collector still
# paces collections by allocation.
ENV BUN_GC_TIMER_DISABLE=1
# JavaScriptCore's top compiler tier (FTL) kept recompiling the service's code under steady load, its compiler
# threads taking 15-22% more CPU on top of the JavaScript itself minutes into a run; without it, about 18% less
# CPU per command at concurrency 64 (README, "Runtime settings").
ENV BUN_JSC_useFTLJIT=0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock tsconfig.json bunfig.toml ./
COPY src ./src
COPY workers ./workers
COPY sql ./sql
COPY proto ./proto
# The image's unprivileged user (uid 1000); the application writes nothing under /app.
USER bun
# gRPC, HTTP (gRPC-web, Connect, /metrics, /healthz, /readyz), metrics of worker/relay/consistency.
EXPOSE 50051 8080 9464
# SIGTERM stops gracefully (src/main.ts): no new work, in-flight work finished, exit 0.
STOPSIGNAL SIGTERM
CMD ["bun", "src/main.ts", "--role", "all"]
