/**
 * The gateway: transport-neutral RPC plumbing (handlers, call context, interceptors), authentication, error
 * mapping, and the grpc-js server and client built from protobuf-es descriptors.
 */
export type { Authenticator, AuthenticatorOptions, AuthInterceptorOptions, MintTokenOptions } from "./auth";
export { actorRoles, authInterceptor, createAuthenticator, defaultPublicServices, mintToken } from "./auth";
export type { CallContextInit, ManagedCallContext } from "./call-context";
export { callError, createCallContext } from "./call-context";
export type { ErrorOrigin, GatewayLogger, StatusDetails } from "./error-status";
export {
  codeName,
  encodeStatusDetails,
  parseStatusDetails,
  statusDetailsKey,
  toGrpcStatus,
} from "./error-status";
export type { GrpcCallOptions, GrpcClient, GrpcClientOptions, MethodNameOfKind } from "./grpc-client";
export { createGrpcClient } from "./grpc-client";
export { grpcMethodDefinition, grpcServiceDefinition, metadataToHeaders } from "./grpc-definition";
export type { GrpcServerOptions } from "./grpc-server";
export { bindGrpcServer, createGrpcServer, shutdownGrpcServer } from "./grpc-server";
export type {
  AnyHandler,
  CallContext,
  CallResponse,
  Interceptor,
  MethodImplementation,
  MethodKind,
  Next,
  ServerStreamHandler,
  ServiceImplementation,
  ServiceRegistration,
  UnaryHandler,
} from "./handler";
export { registerService } from "./handler";
export { applyInterceptors, createMethodInvoker, mapStream } from "./interceptors";
export { isPrivileged, requireActor, requireRole, requireSelfOrPrivileged } from "./permissions";
