import { buildEnvelope } from "../commands/build-envelope";
import { uuidFrom } from "../contracts";
import { createTestDatabase } from "../testing";
import { createCommandExecutor } from "./executor";
const db = await createTestDatabase();
const admin = { sub: "ops", role: "admin" } as const;
let captured: any;
const stamps: Record<string, number[]> = {};
const execute = createCommandExecutor({ connect: async () => { const c = await db.pool.connect(); return { query: async (q: any) => { if (typeof q === "object" && q.text?.includes("INSERT INTO turns")) captured = q; const t = performance.now(); const r = await c.query(q); (stamps.q ??= []).push(performance.now() - t); return r; }, release: (e?: any) => c.release(e) } as any; } });
const u = uuidFrom("lat-u");
await execute([buildEnvelope({ type: "CreateUser", userId: u, email: "a@b.c", displayName: "A" }, { commandId: "x1", actor: admin }).envelope]);
const c1 = uuidFrom("lat-c1"), c2 = uuidFrom("lat-c2");
for (const c of [c1, c2]) await execute([buildEnvelope({ type: "StartConversation", conversationId: c, userId: u, voiceModelId: null, faceModelId: null }, { commandId: `s${c}`, actor: admin }).envelope]);
await execute([buildEnvelope({ type: "RecordConversationTurn", conversationId: c2, speaker: "USER", text: `x`, audioMs: 1, latencyMs: 1 }, { commandId: `w0`, actor: admin }).envelope]);
const raw = await db.pool.connect(); let ver = 2;
const ex: number[] = [], st: number[] = [];
for (let i = 0; i < 600; i++) {
  const env = buildEnvelope({ type: "RecordConversationTurn", conversationId: c1, speaker: "USER", text: `hello ${i}`, audioMs: 1, latencyMs: 1 }, { commandId: `t${i}`, actor: admin }).envelope;
  let t = performance.now(); await execute([env]); ex.push(performance.now() - t);
  const v = captured.values.slice(); v[0] = null; 
  // raw: same text on conversation c2
  const id = `raw${i}`; const vals = captured.values.map((x: any) => x); 
  vals[4] = ver + 1; vals[6] = ver; vals[5] = c2; vals[7] = c2; vals[8] = [ver]; vals[15] = c2; vals[17] = [ver + 1]; vals[20] = id; vals[23] = c2; ver++;
  t = performance.now(); await raw.query({ name: "rawstmt", text: captured.text, values: vals }); st.push(performance.now() - t);
}
console.log(JSON.stringify((await raw.query("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")).rows));
for (const mode of ["auto", "force_generic_plan", "auto", "force_generic_plan"]) {
  await raw.query(`SET plan_cache_mode = ${mode}`);
  await raw.query("DEALLOCATE ALL"); (raw as any).connection.parsedStatements = {};
  const tt: number[] = [];
  for (let i = 0; i < 300; i++) {
    const id = `raw${mode}${i}${ver}`; const vals = captured.values.map((x: any) => x);
    vals[4] = ver + 1; vals[6] = ver; vals[5] = c2; vals[7] = c2; vals[8] = [ver]; vals[15] = c2; vals[17] = [ver + 1]; vals[20] = id; vals[23] = c2; ver++;
    const t = performance.now(); await raw.query({ name: "rawstmt", text: captured.text, values: vals }); tt.push(performance.now() - t);
  }
  console.log(mode, "p50", tt.slice(50).sort((a, b) => a - b)[125]!.toFixed(3), JSON.stringify((await raw.query("SELECT generic_plans, custom_plans FROM pg_prepared_statements")).rows));
}
const med = (a: number[]) => a.slice(100).sort((x, y) => x - y)[Math.floor((a.length - 100) / 2)]!.toFixed(3);
console.log(`executor p50 ${med(ex)} ms; its query p50 ${med(stamps.q!)}; raw statement p50 ${med(st)} ms`);
raw.release(); await db.drop(); process.exit(0);
