#include "core/error.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald {
namespace {

TEST(ErrorTest, CodeNamesAreTheWireNamesOfSpec) {
  const std::vector<std::pair<ErrorCode, std::string>> names = {
      {ErrorCode::kBadRequest, "bad_request"},
      {ErrorCode::kUnauthorized, "unauthorized"},
      {ErrorCode::kForbidden, "forbidden"},
      {ErrorCode::kNotFound, "not_found"},
      {ErrorCode::kMethodNotAllowed, "method_not_allowed"},
      {ErrorCode::kConflict, "conflict"},
      {ErrorCode::kPayloadTooLarge, "payload_too_large"},
      {ErrorCode::kHeadersTooLarge, "request_header_fields_too_large"},
      {ErrorCode::kUnsupportedMediaType, "unsupported_media_type"},
      {ErrorCode::kValidationError, "validation_error"},
      {ErrorCode::kRateLimited, "rate_limited"},
      {ErrorCode::kServiceUnavailable, "service_unavailable"},
      {ErrorCode::kInternalError, "internal_error"},
  };
  for (const auto& [code, name] : names) EXPECT_EQ(CodeName(code), name);
}

TEST(ErrorTest, ADefaultErrorIsAnInternalErrorWithNothingElseSet) {
  const Error error;
  EXPECT_EQ(error.code, ErrorCode::kInternalError);
  EXPECT_TRUE(error.message.empty());
  EXPECT_TRUE(error.field.empty());
  EXPECT_EQ(error.retry_after.count(), 0);
  EXPECT_FALSE(error.cause);
}

TEST(ErrorTest, InvalidFieldIsAValidationErrorNamingTheFieldAndNothingElse) {
  const Error error = InvalidField("event.messageId", "messageId must be a string");
  EXPECT_EQ(error.code, ErrorCode::kValidationError);
  EXPECT_EQ(error.field, "event.messageId");
  EXPECT_EQ(error.message, "messageId must be a string");
  EXPECT_EQ(error.retry_after.count(), 0);
  EXPECT_FALSE(error.cause);
}

TEST(ResultTest, HoldsTheValueItWasGiven) {
  Result<std::string> result = std::string("stored");
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result.has_error());
  EXPECT_EQ(*result, "stored");
  EXPECT_EQ(result->size(), 6U);
  EXPECT_EQ(result.value(), "stored");
}

TEST(ResultTest, HoldsTheErrorItWasGiven) {
  const Result<int> result = Error{ErrorCode::kServiceUnavailable, "database gone", {}, {}, {}};
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kServiceUnavailable);
  EXPECT_EQ(result.error().message, "database gone");
}

TEST(ResultTest, ValueOfAnErrorThrowsTheError) {
  const Result<int> result = Error{ErrorCode::kNotFound, "no such context", {}, {}, {}};
  try {
    (void)result.value();
    ADD_FAILURE() << "value() of an error returned";
  } catch (const ErrorException& thrown) {
    EXPECT_EQ(thrown.error().code, ErrorCode::kNotFound);
    EXPECT_STREQ(thrown.what(), "not_found: no such context");
  }
}

TEST(ResultTest, AVoidResultIsSuccessOrAnError) {
  const Result<void> done;
  EXPECT_TRUE(done.has_value());
  const Result<void> failed = Error{ErrorCode::kConflict, "exists", {}, {}, {}};
  ASSERT_TRUE(failed.has_error());
  EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
}

TEST(ResultTest, AMoveOnlyValueMovesOut) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(7);
  ASSERT_TRUE(result);
  const std::unique_ptr<int> taken = *std::move(result);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

TEST(ResultTest, AnOptionalValueIsNotAnError) {
  const Result<std::optional<int>> nothing = std::optional<int>();
  ASSERT_TRUE(nothing.has_value());
  EXPECT_FALSE(nothing->has_value());
}

}  // namespace
}  // namespace herald
