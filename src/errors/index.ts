export type { CodeName, FieldViolation, SerializedAppError } from "./app-error";
export { AppError, Code, isConnectionError, isSerializedAppError } from "./app-error";
export { ConfigError } from "./config-error";
