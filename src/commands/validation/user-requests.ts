/** Requests of the user commands: CreateUser, UpdateUserProfile, DeleteUser. */
import { email, label, optionalUuid, uuid } from "./fields";
import { maxDisplayNameLength } from "./limits";
import { always, defineRequest, idOrNew, requestSchema } from "./request";

const displayName = label(maxDisplayNameLength);

/** `CreateUserRequest`: `user_id` may be empty (generated). */
export const createUserRequestSchema = requestSchema({ userId: optionalUuid, email, displayName });

/** `UpdateUserProfileRequest`: at least one of the optional `email` and `display_name` must be set. */
export const updateUserProfileRequestSchema = requestSchema({
  userId: uuid,
  email: email.optional(),
  displayName: displayName.optional(),
}).superRefine((request, ctx) => {
  if (request.email === undefined && request.displayName === undefined) {
    // Reported on both fields: neither alone is the one at fault.
    for (const path of ["email", "displayName"]) {
      ctx.addIssue({
        code: "custom",
        path: [path],
        message: "at least one of email or display_name must be set",
      });
    }
  }
}, always);

/** `DeleteUserRequest`. */
export const deleteUserRequestSchema = requestSchema({ userId: uuid });

/** CreateUser: a missing id is generated; the display name is trimmed. */
export const createUserRequest = defineRequest("CreateUser", createUserRequestSchema, (r, newId) => ({
  userId: idOrNew(r.userId, newId),
  email: r.email,
  displayName: r.displayName.trim(),
}));

/** UpdateUserProfile: unset fields stay undefined (unchanged); the display name is trimmed. */
export const updateUserProfileRequest = defineRequest(
  "UpdateUserProfile",
  updateUserProfileRequestSchema,
  (r) => ({
    userId: r.userId.toLowerCase(),
    email: r.email,
    displayName: r.displayName?.trim(),
  }),
);

/** DeleteUser. */
export const deleteUserRequest = defineRequest("DeleteUser", deleteUserRequestSchema, (r) => ({
  userId: r.userId.toLowerCase(),
}));
