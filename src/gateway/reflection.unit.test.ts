import { describe, expect, test } from "bun:test";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { ServerReflectionRequestSchema } from "../gen/grpc/reflection/v1/reflection_pb";
import { createReflection } from "./reflection";

const reflection = createReflection({ services: [CommandService, QueryService, Health] });
const ask = (init: MessageInitShape<typeof ServerReflectionRequestSchema>) =>
  reflection.answer(create(ServerReflectionRequestSchema, init));

/** The FileDescriptorProtos of a fileDescriptorResponse, decoded. */
function files(answer: ReturnType<typeof ask>) {
  if (answer.messageResponse?.case !== "fileDescriptorResponse")
    throw new Error("not a file descriptor answer");
  return (answer.messageResponse.value.fileDescriptorProto ?? []).map((b) =>
    fromBinary(FileDescriptorProtoSchema, b),
  );
}

describe("server reflection", () => {
  test("list_services names the API, health and reflection", () => {
    const answer = ask({ host: "h", messageRequest: { case: "listServices", value: "*" } });
    expect(answer.validHost).toBe("h");
    if (answer.messageResponse?.case !== "listServicesResponse") throw new Error("wrong answer");
    expect(answer.messageResponse.value.service?.map((s) => s.name)).toEqual([
      "clone.v1.CommandService",
      "clone.v1.QueryService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  test("file_containing_symbol: the file first, then its imports; enough for a client to rebuild the service", () => {
    const protos = files(
      ask({ messageRequest: { case: "fileContainingSymbol", value: "clone.v1.CommandService" } }),
    );
    expect(protos[0]?.name).toBe("clone/v1/command_service.proto");
    const names = protos.map((p) => p.name);
    expect(names).toContain("clone/v1/common.proto");
    expect(new Set(names).size).toBe(names.length);
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(protos) }));
    const service = registry.getService("clone.v1.CommandService");
    expect(service?.methods.map((m) => m.name)).toContain("CreateUser");
    expect(registry.getMessage("clone.v1.CreateUserRequest")?.fields.map((f) => f.name)).toContain("email");
  });

  test("methods, nested types, messages and filenames are found; v1alpha has its own file", () => {
    const first = (init: Parameters<typeof ask>[0]) => files(ask(init))[0]?.name;
    expect(
      first({
        messageRequest: { case: "fileContainingSymbol", value: "clone.v1.QueryService.GetUserProfile" },
      }),
    ).toBe("clone/v1/query_service.proto");
    expect(
      first({
        messageRequest: {
          case: "fileContainingSymbol",
          value: "grpc.health.v1.HealthCheckResponse.ServingStatus",
        },
      }),
    ).toBe("grpc/health/v1/health.proto");
    expect(
      first({ messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" } }),
    ).toBe("google/protobuf/timestamp.proto");
    const alpha = files(
      ask({
        messageRequest: { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.ServerReflection" },
      }),
    )[0];
    expect(alpha?.package).toBe("grpc.reflection.v1alpha");
    expect(alpha?.service[0]?.method[0]?.inputType).toBe(".grpc.reflection.v1alpha.ServerReflectionRequest");
  });

  test("unknown symbols and files: NOT_FOUND error responses", () => {
    for (const messageRequest of [
      { case: "fileContainingSymbol" as const, value: "no.such.Thing" },
      { case: "fileByFilename" as const, value: "nope.proto" },
    ]) {
      const answer = ask({ messageRequest });
      expect(answer.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
    }
  });
});

/** Files ordered so that each comes after what it imports, as a FileDescriptorSet wants them. */
function importsFirst<T extends { name: string; dependency: string[] }>(protos: T[]): T[] {
  const ordered: T[] = [];
  const placed = new Set<string>();
  while (ordered.length < protos.length) {
    const next = protos.find((p) => !placed.has(p.name) && p.dependency.every((d) => placed.has(d)));
    if (next === undefined) throw new Error("an import is missing from the answer");
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}
