/**
 * The gateway: transport-neutral RPC plumbing (handlers, call context, interceptors), authentication, error
 * mapping, and the grpc-js server and client built from protobuf-es descriptors.
 */
export type { Authenticator, AuthenticatorOptions, AuthInterceptorOptions, MintTokenOptions } from "./auth";
export { actorRoles, authInterceptor, createAuthenticator, defaultPublicServices, mintToken } from "./auth";
export type { CallContextInit, ManagedCallContext } from "./call-context";
export { callError, createCallContext } from "./call-context";
export type { ConnectRoutesOptions } from "./connect-routes";
export { connectRoutes, headersToMap, requestErrorGate, toConnectError } from "./connect-routes";
export type { ErrorOrigin, GatewayLogger, PublicError, StatusDetails } from "./error-status";
export {
  codeName,
  encodeStatusDetails,
  parseStatusDetails,
  statusDetailsKey,
  toGrpcStatus,
  toPublicError,
} from "./error-status";
export type { GrpcCallOptions, GrpcClient, GrpcClientOptions, MethodNameOfKind } from "./grpc-client";
export { createGrpcClient } from "./grpc-client";
export { grpcMethodDefinition, grpcServiceDefinition, metadataToHeaders } from "./grpc-definition";
export { addReflectionService } from "./grpc-reflection";
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
export { isPrivileged, requireActor } from "./permissions";
export type { Reflection, ReflectionOptions } from "./reflection";
export { createReflection, reflectionServiceNames } from "./reflection";
export {
  maxRequestBytes,
  oversizedRequest,
  requestRulesInterceptor,
  requestViolations,
  textProblem,
  undecodableRequest,
} from "./request-rules";
export { tracingInterceptor } from "./tracing-interceptor";
