import { describe, expect, test } from "bun:test";
import { DeciderSpecification, fixedNow } from "../decider-specification";
import { userDecider } from "./decider";
import type { UserEvent } from "./events";

const userId = "00000000-0000-4000-8000-000000000001";
const at = fixedNow.toISOString();
const spec = DeciderSpecification.for(userDecider);

const created: UserEvent = {
  type: "user.created",
  data: { userId, email: "ada@example.com", displayName: "Ada", createdAt: "2030-01-01T00:00:00.000Z" },
};
const deleted: UserEvent = { type: "user.deleted", data: { userId, deletedAt: "2030-01-01T01:00:00.000Z" } };

describe("CreateUser", () => {
  const command = { type: "CreateUser", userId, email: "ada@example.com", displayName: "Ada" } as const;

  test("creates the user", () => {
    spec
      .given([])
      .when(command)
      .then([
        {
          type: "user.created",
          data: { userId, email: "ada@example.com", displayName: "Ada", createdAt: at },
        },
      ]);
  });

  test("rejects an id in use", () => {
    spec.given([created]).when(command).thenFails("ALREADY_EXISTS", userId);
  });

  test("rejects the id of a deleted user", () => {
    spec.given([created, deleted]).when(command).thenFails("ALREADY_EXISTS");
  });
});

describe("UpdateUserProfile", () => {
  test("emits only the changed fields", () => {
    spec
      .given([created])
      .when({ type: "UpdateUserProfile", userId, email: "ada@example.com", displayName: "Countess" })
      .then([{ type: "user.profile_updated", data: { userId, displayName: "Countess", updatedAt: at } }]);
  });

  test("changes both fields", () => {
    spec
      .given([created])
      .when({ type: "UpdateUserProfile", userId, email: "ada@lovelace.org", displayName: "Countess" })
      .then([
        {
          type: "user.profile_updated",
          data: { userId, email: "ada@lovelace.org", displayName: "Countess", updatedAt: at },
        },
      ]);
  });

  test("is a no-op when nothing changes", () => {
    spec
      .given([created])
      .when({ type: "UpdateUserProfile", userId, email: "ada@example.com", displayName: "Ada" })
      .thenNothingHappens();
  });

  test("applies the change to the state", () => {
    spec
      .given([created])
      .when({ type: "UpdateUserProfile", userId, email: "ada@lovelace.org" })
      .thenState((state) =>
        expect(state).toMatchObject({ email: "ada@lovelace.org", displayName: "Ada", version: 2 }),
      );
  });

  test("rejects a missing user", () => {
    spec.given([]).when({ type: "UpdateUserProfile", userId, displayName: "X" }).thenFails("NOT_FOUND");
  });

  test("rejects a deleted user", () => {
    spec
      .given([created, deleted])
      .when({ type: "UpdateUserProfile", userId, displayName: "X" })
      .thenFails("NOT_FOUND");
  });
});

describe("DeleteUser", () => {
  test("deletes the user", () => {
    spec
      .given([created])
      .when({ type: "DeleteUser", userId })
      .then([{ type: "user.deleted", data: { userId, deletedAt: at } }]);
  });

  test("rejects a missing user", () => {
    spec.given([]).when({ type: "DeleteUser", userId }).thenFails("NOT_FOUND");
  });

  test("rejects a deleted user", () => {
    spec.given([created, deleted]).when({ type: "DeleteUser", userId }).thenFails("NOT_FOUND");
  });
});
