/** user_statistics_view: one row per user, counting its conversations, turns, documents and models. */
import { conversationEventTypes, documentEventTypes } from "../../domain";
import { byUserId, defineView, onEach, userScope } from "../view-definition";

/** A user's statistics. */
export const userStatisticsView = defineView({
  name: "user_statistics_view",
  keyColumn: "user_id",
  serves: "UserStatistics",
  on: onEach(
    [
      "user.created",
      "user.deleted",
      "voice_model.registered",
      "face_model.registered",
      ...documentEventTypes,
      ...conversationEventTypes,
    ],
    byUserId,
  ),
  queries: { GetUserStatistics: userScope },
});
