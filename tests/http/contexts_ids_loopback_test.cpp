// The contexts routes against bad requests (spec §1.3, §1.5, §2): hostile ids in paths and
// queries, missing tokens, other methods.
#include <gtest/gtest.h>

#include "http/contexts_support.h"

namespace herald::testing {
namespace {

TEST(ContextsLoopbackTest, EveryContextsRouteAnswers401WithoutAValidToken) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "kept");
  ASSERT_FALSE(id.empty());
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  struct Route {
    std::string method, target, body;
  };
  const std::vector<Route> routes = {
      {"GET", kContexts, ""},
      {"POST", kContexts, NameBody("x")},
      {"GET", ContextPath(id), ""},
      {"PUT", ContextPath(id), NameBody("stolen")},
      {"DELETE", ContextPath(id), ""},
      {"POST", EventsPath(id), event},
      {"GET", ContextPath("undefined"), ""},
  };
  const std::vector<std::pair<std::string, Headers>> callers = {
      {"no token", {{"Content-Type", "application/json"}}},
      {"garbage token",
       {{"Authorization", "Bearer not-a-jwt"}, {"Content-Type", "application/json"}}},
      {"empty bearer", {{"Authorization", "Bearer "}, {"Content-Type", "application/json"}}},
  };
  for (const Route& r : routes) {
    for (const auto& [caller, headers] : callers) {
      const HttpReply reply = Request(hub.port(), r.method, r.target, headers, r.body);
      EXPECT_TRUE(IsError(reply, 401, "unauthorized"))
          << r.method << " " << r.target << ", " << caller;
    }
  }
  const json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 1u) << json::serialize(list);
  EXPECT_EQ(Str(list.at(0).at("name")), "kept");
  EXPECT_EQ(Count(list.at(0), "message_count"), 0);
}

// ---- Hostile ids --------------------------------------------------------------------------------

struct HostileId {
  std::string name;
  std::string path;  // as written in the request target
};

std::vector<HostileId> HostileIds() {
  return {
      {"undefined", "undefined"},
      {"null", "null"},
      {"__CONTEXT_LOADING__", "__CONTEXT_LOADING__"},
      {"encoded undefined", "%75ndefined"},
      {"dot", "."},
      {"dot dot", ".."},
      {"encoded dot", "%2E"},
      {"encoded dot dot", "%2E%2E"},
      {"lower-case encoded dot dot", "%2e%2e"},
      {"half-encoded dot dot", ".%2E"},
      {"encoded slash", "a%2Fb"},
      {"only an encoded slash", "%2F"},
      {"encoded traversal", "..%2F..%2Fetc%2Fpasswd"},
      {"encoded backslash", "a%5Cb"},
      {"encoded backslash traversal", "..%5C..%5Cwindows"},
      {"NUL", "a%00b"},
      {"LF", "a%0Ab"},
      {"CR LF header injection", "a%0D%0AX-Evil:%201"},
      {"unit separator", "%1F"},
      {"DEL", "a%7Fb"},
      {"C1 NEXT LINE", "a%C2%85b"},
      {"lone 0xFF", "a%FFb"},
      {"overlong slash", "%C0%AF"},
      {"surrogate half", "%ED%A0%80"},
      {"truncated sequence", "a%E2%82"},
      {"above U+10FFFF", "%F4%90%80%80"},
      {"257 bytes", std::string(257, 'a')},
      {"257 bytes of encoded UTF-8", "a" +
                                         [] {
                                           std::string s;
                                           for (int i = 0; i < 128; ++i) s += "%C3%A9";
                                           return s;
                                         }()},
  };
}

TEST(ContextsLoopbackTest, MalformedPathIdsAnswer400OnEveryContextRouteAndTheHubKeepsServing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  for (const HostileId& c : HostileIds()) {
    const std::vector<std::pair<std::string, HttpReply>> replies = {
        {"GET", Request(hub.port(), "GET", ContextPath(c.path), AuthAs("alice"))},
        {"PUT",
         Request(hub.port(), "PUT", ContextPath(c.path), JsonAuthAs("alice"), NameBody("n"))},
        {"DELETE", Request(hub.port(), "DELETE", ContextPath(c.path), AuthAs("alice"))},
        {"POST events",
         Request(hub.port(), "POST", EventsPath(c.path), JsonAuthAs("alice"), event)},
    };
    for (const auto& [method, reply] : replies) {
      EXPECT_TRUE(IsError(reply, 400, "bad_request"))
          << c.name << " (" << c.path << "), " << method;
    }
  }
  EXPECT_TRUE(IsError(
      Request(hub.port(), "POST", std::string(kContexts) + "//events", JsonAuthAs("alice"), event),
      400, "bad_request"))
      << "an empty id";

  // The hub still serves, and none of it created, emitted or stored anything.
  EXPECT_EQ(Request(hub.port(), "GET", "/health").status, 200);
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array());
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(SequenceOf(fence), 1u) << "no event was stored before the fence";
  EXPECT_EQ(contexts.NextId(), fence);
  EXPECT_FALSE(Create(hub.port(), "alice", "after").empty());
}

TEST(ContextsLoopbackTest, MalformedContextIdQueryOnAStreamAnswers400) {
  TestHub hub;
  const std::vector<std::pair<std::string, std::string>> values = {
      {"undefined", "undefined"},
      {"null", "null"},
      {"__CONTEXT_LOADING__", "__CONTEXT_LOADING__"},
      {"empty", ""},
      {"dot dot", ".."},
      {"encoded dot dot", "%2E%2E"},
      {"encoded slash", "a%2Fb"},
      {"encoded backslash", "a%5Cb"},
      {"NUL", "a%00b"},
      {"LF", "a%0Ab"},
      {"lone 0xFF", "a%FFb"},
      {"surrogate half", "%ED%A0%80"},
      {"257 bytes", std::string(257, 'a')},
  };
  for (const char* stream : {kAguiStream, kA2aStream, kContextsStream}) {
    for (const auto& [name, value] : values) {
      // A stream that opened by mistake never ends: a short bound keeps the failure quick.
      const HttpReply reply = Request(
          hub.port(), "GET", std::string(stream) + "?context_id=" + value, AuthAs("alice"), "", 3s);
      EXPECT_TRUE(IsError(reply, 400, "bad_request")) << stream << " " << name;
    }
  }
  // A well-formed one opens the stream.
  SseStream ok(hub.port(), std::string(kAguiStream) + "?context_id=ok", AuthAs("alice"));
  EXPECT_EQ(ok.status(), 200);
}

TEST(ContextsLoopbackTest, OtherMethodsOnContextsRoutesAnswer405WithTheirAllow) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "c");
  ASSERT_FALSE(id.empty());
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"PUT", kContexts, "GET, POST"},
      {"DELETE", kContexts, "GET, POST"},
      {"PATCH", ContextPath(id), "GET, PUT, DELETE"},
      {"POST", ContextPath(id), "GET, PUT, DELETE"},
      {"GET", EventsPath(id), "POST"},
      {"PUT", EventsPath(id), "POST"},
  };
  for (const auto& [method, target, allow] : cases) {
    const HttpReply reply = Request(hub.port(), method, target, JsonAuthAs("alice"), "{}");
    EXPECT_EQ(reply.status, 405) << method << " " << target << ": " << reply.body;
    EXPECT_EQ(reply.Header("allow"), allow) << method << " " << target;
  }
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object()) << "DELETE on the list deleted nothing";
  EXPECT_EQ(Str(stored.at("name")), "c");
}

}  // namespace
}  // namespace herald::testing
