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
