/** user_profile_view: one row per user, with the names of its active models (GetUserProfile). */
import { byUserId, defineView, userScope } from "../view-definition";

/** The user's profile. */
export const userProfileView = defineView({
  name: "user_profile_view",
  keyColumn: "user_id",
  serves: "UserProfile",
  on: {
    "user.created": byUserId,
    "user.profile_updated": byUserId,
    "user.deleted": byUserId,
    "voice_model.activated": byUserId,
    "face_model.activated": byUserId,
  },
  queries: { GetUserProfile: userScope },
});

/** A `user_profile_view` row (message UserProfile). */
export interface UserProfileRow {
  readonly user_id: string;
  readonly email: string;
  readonly display_name: string;
  readonly active_voice_model_id: string | null;
  readonly active_voice_model_name: string | null;
  readonly active_face_model_id: string | null;
  readonly active_face_model_name: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
  /** bigint: the user aggregate's version. */
  readonly version: string;
}
