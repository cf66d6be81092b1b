/**
 * A sixth aggregate, as src/README.md's "Adding an aggregate" walks through it: its folder's definition, and one
 * line in a registry; the command list, `aggregateOf`, the event list and the access rules follow.
 */
import { describe, expect, test } from "bun:test";
import type { Decider, Event } from "./decider";
import { type CommandsOf, defineAggregate, deriveRegistry, type EventsOf } from "./definition";
import { aggregates } from "./registry";

interface CreatePlaylist {
  readonly type: "CreatePlaylist";
  readonly playlistId: string;
  readonly userId: string;
}
interface PublishPlaylist {
  readonly type: "PublishPlaylist";
  readonly playlistId: string;
}
type PlaylistCommand = CreatePlaylist | PublishPlaylist;
type PlaylistEvent =
  | Event<"playlist.created", { readonly playlistId: string }>
  | Event<"playlist.published", { readonly playlistId: string }>;

const playlistDecider: Decider<PlaylistCommand, PlaylistEvent, { readonly version: number }> = {
  initialState: () => ({ version: 0 }),
  decide: (command) => [
    { type: command.type === "CreatePlaylist" ? "playlist.created" : "playlist.published", data: command },
  ],
  evolve: (state) => ({ version: state.version + 1 }),
};

/** The test aggregate's `definition.ts`. */
const playlistAggregate = defineAggregate({
  type: "playlist",
  decider: playlistDecider,
  commandTypes: ["CreatePlaylist", "PublishPlaylist"],
  eventTypes: ["playlist.created", "playlist.published"],
  target: (command: PlaylistCommand) => command.playlistId,
  access: { privileged: ["PublishPlaylist"], creates: ["CreatePlaylist"] },
  keepState: false,
});

/** The registry with its one new line. */
const registry = { ...aggregates, playlist: playlistAggregate } as const;
const derived = deriveRegistry(registry);

type Registry = typeof registry;
type Command = { [T in keyof Registry]: CommandsOf<Registry[T]> }[keyof Registry];
type EventType = { [T in keyof Registry]: EventsOf<Registry[T]> }[keyof Registry]["type"];

describe("an aggregate added to a registry", () => {
  const id = "00000000-0000-4000-8000-000000000001";

  test("its commands are listed after the others' and routed to it", () => {
    expect(derived.commandTypes.slice(-2)).toEqual(["CreatePlaylist", "PublishPlaylist"]);
    expect(derived.commandTypes).toHaveLength(17);
    const publish: Command = { type: "PublishPlaylist", playlistId: id };
    expect(derived.aggregateOf(publish)).toEqual({ type: "playlist", id });
    expect(derived.aggregateOf({ type: "DeleteUser", userId: id })).toEqual({ type: "user", id });
  });

  test("its events are listed after the others'", () => {
    const published: EventType = "playlist.published";
    expect(derived.eventTypes.slice(-2)).toEqual(["playlist.created", published]);
  });

  test("its access rules join the others'", () => {
    expect(derived.privileged.has("PublishPlaylist")).toBe(true);
    expect(derived.privileged.has("RecordDocumentProcessing")).toBe(true);
    expect(derived.creating.has("CreatePlaylist")).toBe(true);
    expect(derived.creating.has("CreateUser")).toBe(true);
    expect(derived.privileged.has("CreatePlaylist")).toBe(false);
  });

  test("a command of no registered aggregate is INVALID_ARGUMENT", () => {
    const unknown = { type: "ArchivePlaylist", playlistId: id } as unknown as Command;
    expect(() => derived.aggregateOf(unknown)).toThrow("unknown command type ArchivePlaylist");
  });

  test("two aggregates claiming one command type are refused", () => {
    const copy = { ...playlistAggregate, type: "copy" as const };
    expect(() => deriveRegistry({ playlist: playlistAggregate, copy })).toThrow(
      "CreatePlaylist is a command of both playlist and copy",
    );
  });
});
