/**
 * `bun run cli views status|build <view>`: a view's new version, registered by a migration, built beside the old
 * one and swapped in (src/read-models/view-builds.ts; the procedure is in src/read-models/README.md).
 */
import type pg from "pg";
import { isViewName, listViewBuilds, runViewBuild } from "../read-models";
import type { CliCommand } from "./args";
import { UsageError } from "./args";
import { formatTable } from "./table";

type ViewsCommand = Extract<CliCommand, { kind: "views" }>;

/** Runs one views command; returns its exit code. */
export async function runViews(
  command: ViewsCommand,
  pool: pg.Pool,
  io: { out(text: string): void; err(text: string): void },
): Promise<number> {
  if (command.action === "status") {
    const builds = await listViewBuilds(pool);
    if (builds.length === 0) {
      io.out("no view has a new version waiting to be built");
      return 0;
    }
    io.out(
      formatTable(
        ["view", "started", "built through", "state"],
        builds.map((b) => [
          b.view,
          b.startedAt.toISOString(),
          b.builtThrough ?? "-",
          b.completedAt === null ? "filling" : "ready to swap",
        ]),
      ),
    );
    return 0;
  }
  const view = command.view ?? "";
  if (!isViewName(view)) throw new UsageError(`views build: "${view}" is not a read view`);
  if (!(await listViewBuilds(pool)).some((b) => b.view === view))
    throw new UsageError(`views build: ${view} has no new version registered (see "Changing a view")`);
  const result = await runViewBuild(pool, view, { onProgress: (message) => io.err(message) });
  io.out(`${view}: ${result.keys} keys built, new version swapped in, old version dropped`);
  return 0;
}
