/**
 * gRPC server reflection (`grpc.reflection.v1.ServerReflection`), transport-neutral: one request in, one
 * response out. Tools (grpcurl, Postman, grpcui) list the services and fetch the `FileDescriptorProto`s of
 * the generated files, with their imports, so they can call the API without the .proto files.
 *
 * The descriptors come from the protobuf-es generated code (`DescFile.proto`), the only schema there is.
 * `grpc.reflection.v1alpha` (what older tools ask for) has the same messages in another package; its file is
 * derived from v1's by renaming the package.
 */
import {
  clone,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "../errors";
import {
  file_grpc_reflection_v1_reflection,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1/reflection_pb";

/** The fully qualified names of the reflection services. */
export const reflectionServiceNames = {
  v1: "grpc.reflection.v1.ServerReflection",
  v1alpha: "grpc.reflection.v1alpha.ServerReflection",
} as const;

/** Answers reflection requests about a set of services. */
export interface Reflection {
  /** The names `list_services` reports. */
  readonly serviceNames: readonly string[];
  answer(request: ServerReflectionRequest): MessageInitShape<typeof ServerReflectionResponseSchema>;
}

/** Options of {@link createReflection}. */
export interface ReflectionOptions {
  /** The services served (reflection itself is added); their files and imports are described. */
  readonly services: readonly DescService[];
  /** Also describe and list `grpc.reflection.v1alpha.ServerReflection`; default true. */
  readonly v1alpha?: boolean;
}

/** Creates the reflection index of the given services and every file they import. */
export function createReflection(options: ReflectionOptions): Reflection {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    const name = fileName(file);
    if (files.has(name)) return;
    files.set(name, file);
    for (const dep of file.dependencies) addFile(dep);
    indexSymbols(file, symbols);
  };
  const reflectionV1 = file_grpc_reflection_v1_reflection;
  const names = new Set<string>();
  for (const service of options.services) {
    names.add(service.typeName);
    addFile(service.file);
  }
  names.add(reflectionServiceNames.v1);
  addFile(reflectionV1);
  if (options.v1alpha ?? true) {
    names.add(reflectionServiceNames.v1alpha);
    addFile(v1alphaFile(reflectionV1));
  }

  const encoded = new Map<string, Uint8Array>();
  const bytesOf = (file: DescFile): Uint8Array => {
    const name = fileName(file);
    let bytes = encoded.get(name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(name, bytes);
    }
    return bytes;
  };
  /** The file first, then everything it imports, each once (as grpc-go sends them). */
  const describe = (file: DescFile) => {
    const ordered: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile): void => {
      if (seen.has(fileName(f))) return;
      seen.add(fileName(f));
      ordered.push(f);
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return {
      case: "fileDescriptorResponse" as const,
      value: { fileDescriptorProto: ordered.map(bytesOf) },
    };
  };
  const notFound = (message: string) => ({
    case: "errorResponse" as const,
    value: { errorCode: Code.NOT_FOUND, errorMessage: message },
  });
  const findSymbol = (symbol: string): DescFile | undefined => {
    const name = symbol.replace(/^\./, "");
    // A field or enum value is looked up through the type declaring it.
    return symbols.get(name) ?? symbols.get(name.slice(0, Math.max(0, name.lastIndexOf("."))));
  };
  const serviceNames = [...names].sort();

  return {
    serviceNames,
    answer(request) {
      const base = { validHost: request.host, originalRequest: request };
      const ask = request.messageRequest;
      switch (ask.case) {
        case "listServices":
          return {
            ...base,
            messageResponse: {
              case: "listServicesResponse",
              value: { service: serviceNames.map((name) => ({ name })) },
            },
          };
        case "fileByFilename": {
          const file = files.get(ask.value);
          return {
            ...base,
            messageResponse: file ? describe(file) : notFound(`file "${ask.value}" not found`),
          };
        }
        case "fileContainingSymbol": {
          const file = findSymbol(ask.value);
          return {
            ...base,
            messageResponse: file ? describe(file) : notFound(`symbol "${ask.value}" not found`),
          };
        }
        case "fileContainingExtension":
          return {
            ...base,
            messageResponse: notFound(
              `no extension ${ask.value.extensionNumber} of "${ask.value.containingType}" is known`,
            ),
          };
        case "allExtensionNumbersOfType": {
          const known = symbols.has(ask.value.replace(/^\./, ""));
          return {
            ...base,
            messageResponse: known
              ? {
                  case: "allExtensionNumbersResponse",
                  value: { baseTypeName: ask.value.replace(/^\./, ""), extensionNumber: [] },
                }
              : notFound(`type "${ask.value}" not found`),
          };
        }
        default:
          return {
            ...base,
            messageResponse: {
              case: "errorResponse",
              value: { errorCode: Code.INVALID_ARGUMENT, errorMessage: "the request names no question" },
            },
          };
      }
    },
  };
}

/** The path of a file as imports name it, e.g. `clone/v1/common.proto`. */
function fileName(file: DescFile): string {
  return file.proto.name;
}

function indexSymbols(file: DescFile, symbols: Map<string, DescFile>): void {
  const addMessage = (message: DescMessage): void => {
    symbols.set(message.typeName, file);
    for (const nested of message.nestedMessages) addMessage(nested);
    for (const e of message.nestedEnums) symbols.set(e.typeName, file);
    for (const x of message.nestedExtensions) symbols.set(x.typeName, file);
  };
  for (const message of file.messages) addMessage(message);
  for (const e of file.enums) symbols.set(e.typeName, file);
  for (const x of file.extensions) symbols.set(x.typeName, file);
  for (const service of file.services) {
    symbols.set(service.typeName, file);
    for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
  }
}

/** v1's file with the package (and every reference to its types) renamed to `grpc.reflection.v1alpha`. */
function v1alphaFile(v1: DescFile): DescFile {
  const from = v1.proto.package;
  const to = "grpc.reflection.v1alpha";
  const proto: FileDescriptorProto = clone(FileDescriptorProtoSchema, v1.proto);
  proto.name = "grpc/reflection/v1alpha/reflection.proto";
  proto.package = to;
  const rename = (typeName: string): string =>
    typeName.startsWith(`.${from}.`) ? `.${to}.${typeName.slice(from.length + 2)}` : typeName;
  const visit = (messages: FileDescriptorProto["messageType"]): void => {
    for (const message of messages) {
      for (const field of message.field) field.typeName = rename(field.typeName);
      visit(message.nestedType);
    }
  };
  visit(proto.messageType);
  for (const service of proto.service) {
    for (const method of service.method) {
      method.inputType = rename(method.inputType);
      method.outputType = rename(method.outputType);
    }
  }
  const registry = createFileRegistry(proto, (name) => v1.dependencies.find((d) => fileName(d) === name));
  const file = registry.getFile(proto.name);
  if (file === undefined) throw new Error("cannot build the v1alpha reflection descriptor");
  return file;
}
