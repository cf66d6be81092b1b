/**
 * The document probe of a scenario: a document uploaded as soon as the fault ended (the dependency is back, or
 * the killed process restarted), retried like the load's commands, and how long after the upload began the
 * document processor, on a worker, has PROCESSED it (after a NATS restart its durable JetStream consumer must
 * pull again).
 */
import type pg from "pg";
import { type GatewayClients, sendWithRetry } from "./retry";

/** A probe ready to upload its document. */
export interface DocumentProbe {
  /**
   * Uploads a document and resolves with the ms from now until it is PROCESSED, or undefined when it is not
   * within `timeoutMs` (or the upload was refused).
   */
  measure(timeoutMs: number): Promise<number | undefined>;
}

/** Creates the probe's user (before the fault). */
export async function startDocumentProbe(
  clients: GatewayClients,
  token: string,
  pool: pg.Pool,
): Promise<DocumentProbe> {
  const gateways = clients.commands.length;
  const command = (g: number) => clients.commands[g % gateways] as GatewayClients["commands"][number];
  const userId = crypto.randomUUID();
  await command(0).call(
    "createUser",
    { userId, email: `probe-${userId}@example.com`, displayName: "Probe" },
    { token },
  );
  return {
    async measure(timeoutMs) {
      const start = Date.now();
      const documentId = crypto.randomUUID();
      const upload = await sendWithRetry(
        gateways,
        (g, deadline, commandId) =>
          command(g).call(
            "uploadDocument",
            {
              options: { commandId },
              documentId,
              userId,
              title: "probe",
              contentType: "text/plain",
              content: new TextEncoder().encode("a document uploaded right after the fault"),
            },
            { token, deadline },
          ),
        () => `probe-${documentId}-${crypto.randomUUID()}`,
        { attemptMs: 1_500, budgetMs: timeoutMs },
      );
      if (!upload.ok) return undefined;
      while (Date.now() - start < timeoutMs) {
        const row = await pool
          .query<{ status: string }>("SELECT status FROM documents WHERE id = $1", [documentId])
          .catch(() => ({ rows: [] as Array<{ status: string }> }));
        if (row.rows[0]?.status === "PROCESSED") return Date.now() - start;
        await Bun.sleep(50);
      }
      return undefined;
    },
  };
}
