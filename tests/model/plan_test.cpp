#include "model/plan.hpp"

#include <gtest/gtest.h>

#include "model/intent_frame.hpp"
#include "model/json_io.hpp"

namespace ymy {
namespace {

const char* kTask = R"([{"id":"task_1","name":"Architecture Design","description":"d","type":"ARCHITECTURE",
  "dependencies":[],"estimatedTime":45,"isolation":"INDEPENDENT","agent":"arch-001","prompt":"p",
  "canRunInParallel":true}])";

TEST(Plan, RoundTripsExactlyTheSpecFields) {
  auto v = json::parse(kTask, "plan");
  auto plan = planFromJson(*v);
  ASSERT_TRUE(plan) << plan.error().message;
  auto out = toJson(*plan);
  EXPECT_EQ(out, *v);
  const auto& task = out.as_array()[0].as_object();
  EXPECT_EQ(task.size(), 10u);  // id, name, description, type, dependencies, estimatedTime, isolation, agent, prompt, canRunInParallel
}

TEST(Plan, UnknownTypeNamesTheFieldAndTheChoices) {
  std::string text = kTask;
  text.replace(text.find("ARCHITECTURE"), 12, "DEPLOYMENT");
  auto plan = planFromJson(*json::parse(text, "plan"));
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("plan[0].type: unknown task type 'DEPLOYMENT' (expected one of ARCHITECTURE"),
            std::string::npos)
      << plan.error().message;
}

TEST(Plan, FractionalTimeIsRejected) {
  std::string text = kTask;
  text.replace(text.find("45"), 2, "4.5");
  auto plan = planFromJson(*json::parse(text, "plan"));
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message, "plan[0].estimatedTime: expected a whole number");
}

TEST(IntentFrame, RoundTrips) {
  IntentFrame f;
  f.intent = Intent::kScaleComponent;
  f.complexity = 0.6;
  f.confidence = 0.9;
  f.target = "auth-service";
  f.components = {"auth"};
  f.params.rps = 5000;
  f.params.latencyMs = 200;
  f.estimatedTasks = 6;
  auto json = toJson(f);
  EXPECT_EQ(json.at("params").at("rps").as_int64(), 5000);
  auto back = intentFrameFromJson(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(toJson(*back), json);
}

TEST(IntentFrame, RejectsUnknownIntentAndOutOfRangeComplexity) {
  auto bad = intentFrameFromJson(*json::parse(R"({"intent":"DESTROY","complexity":0.5})", "x"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "intent.intent: unknown intent 'DESTROY'");
  auto range = intentFrameFromJson(*json::parse(R"({"intent":"ANALYZE","complexity":1.5})", "x"));
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().message, "intent.complexity: must be within [0, 1]");
}

TEST(IntentNames, AllSevenRoundTrip) {
  for (Intent i : kAllIntents) EXPECT_EQ(intentFromName(intentName(i)), i);
  EXPECT_FALSE(intentFromName("build_from_scratch"));
}

}  // namespace
}  // namespace ymy
