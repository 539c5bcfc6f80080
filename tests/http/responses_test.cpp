#include "http/responses.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace herald::http {
namespace {

namespace beast_http = boost::beast::http;
using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow{seconds{1'700'000'000}};

Request MakeRequest() { return Request{beast_http::verb::post, "/api/v1/events", 11}; }

Error WithCode(ErrorCode code) { return Error{code, "refused", {}, {}, {}}; }

TEST(ErrorStatusTest, EveryCodeHasTheStatusOfSpec) {
  const std::vector<std::pair<ErrorCode, int>> statuses = {
      {ErrorCode::kBadRequest, 400},
      {ErrorCode::kUnauthorized, 401},
      {ErrorCode::kForbidden, 403},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kMethodNotAllowed, 405},
      {ErrorCode::kConflict, 409},
      {ErrorCode::kPayloadTooLarge, 413},
      {ErrorCode::kHeadersTooLarge, 431},
      {ErrorCode::kUnsupportedMediaType, 415},
      {ErrorCode::kValidationError, 422},
      {ErrorCode::kRateLimited, 429},
      {ErrorCode::kServiceUnavailable, 503},
      {ErrorCode::kInternalError, 500},
  };
  for (const auto& [code, status] : statuses) {
    EXPECT_EQ(HttpStatus(code), status) << CodeName(code);
    EXPECT_EQ(static_cast<int>(ErrorResponse(MakeRequest(), WithCode(code), kNow).result()), status)
        << CodeName(code);
  }
}

TEST(ErrorBodyTest, IsCodeMessageAndTimestampInThatOrder) {
  EXPECT_EQ(ErrorBody(Error{ErrorCode::kNotFound, "No such context.", {}, {}, {}}, kNow),
            R"({"code":"not_found","message":"No such context.",)"
            R"("timestamp":"2023-11-14T22:13:20.000Z"})");
}

TEST(ErrorBodyTest, NamesTheFieldOfAValidationError) {
  EXPECT_EQ(
      ErrorBody(Error{ErrorCode::kValidationError, "Too long.", "event.messageId", {}, {}}, kNow),
      R"({"code":"validation_error","message":"Too long.","field":"event.messageId",)"
      R"("timestamp":"2023-11-14T22:13:20.000Z"})");
}

TEST(ErrorResponseTest, AnUnauthorizedAnswerAsksForABearerToken) {
  const Response response = ErrorResponse(MakeRequest(), WithCode(ErrorCode::kUnauthorized), kNow);
  EXPECT_EQ(response[beast_http::field::www_authenticate], "Bearer");
  EXPECT_EQ(response[beast_http::field::content_type], "application/json");
  EXPECT_EQ(response[beast_http::field::cache_control], "no-store");
  EXPECT_EQ(response.count(beast_http::field::retry_after), 0U);
}

TEST(ErrorResponseTest, RateLimitedAndUnavailableAnswersSayWhenToRetry) {
  Error limited{ErrorCode::kRateLimited, "Slow down.", {}, seconds{7}, {}};
  EXPECT_EQ(ErrorResponse(MakeRequest(), limited, kNow)[beast_http::field::retry_after], "7");
  Error unavailable{ErrorCode::kServiceUnavailable, "Busy.", {}, {}, {}};
  EXPECT_EQ(ErrorResponse(MakeRequest(), unavailable, kNow)[beast_http::field::retry_after], "1")
      << "a zero retry_after still asks for at least one second";
}

TEST(ErrorResponseTest, OtherAnswersCarryNeitherChallengeNorRetryAfter) {
  const Response response =
      ErrorResponse(MakeRequest(), WithCode(ErrorCode::kValidationError), kNow);
  EXPECT_EQ(response.count(beast_http::field::www_authenticate), 0U);
  EXPECT_EQ(response.count(beast_http::field::retry_after), 0U);
  const auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("code").as_string(), "validation_error");
}

}  // namespace
}  // namespace herald::http
