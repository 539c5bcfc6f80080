// Published JSON comes out unchanged (issue 14): random documents, numbers of every form among
// them, published on the webhook, JSON-batch and NDJSON-batch routes, arrive on the live stream
// and on a replay from the store equal by value and with every number's text as sent.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <random>

#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kBatch[] = "/api/v1/events";

// Random JSON text, numbers written in every form JSON allows: huge integers, -0, decimals with
// trailing zeros, exponents with either case and sign. Whitespace is random too.
class RandomJson {
 public:
  explicit RandomJson(std::uint32_t seed) : random_(seed) {}

  std::string Document() {
    std::string out;
    Value(out, 0);
    return out;
  }

 private:
  std::size_t Pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
  }
  std::string Digits(std::size_t min, std::size_t max) {
    const std::size_t n = min + Pick(max - min + 1);
    std::string digits(1, static_cast<char>('1' + Pick(9)));
    while (digits.size() < n) digits.push_back(static_cast<char>('0' + Pick(10)));
    return digits;
  }
  std::string Number() {
    std::string sign = Pick(3) == 0 ? "-" : "";
    switch (Pick(7)) {
      case 0:
        return sign + "0";
      case 1:
        return sign + Digits(1, 6);
      case 2:
        return sign + Digits(17, 40);  // beyond 64 bits or beyond a double's precision
      case 3:
        return sign + Digits(1, 3) + "." + Digits(1, 8) + std::string(Pick(3), '0');
      case 4:
        return sign + "0." + std::string(Pick(4), '0') + Digits(1, 5);
      case 5:
        return sign + Digits(1, 2) + (Pick(2) ? "e" : "E") +
               (Pick(3) == 0 ? "-"
                : Pick(2)    ? "+"
                             : "") +
               Digits(1, 2);
      default:
        return sign + Digits(1, 3) + ".0";
    }
  }
  std::string String() {
    static const char* const kPieces[] = {"a",       "1.5E0", "-0", "\\\"", "\\\\",
                                          "\\u00e9", "\\n",   " ",  "é",    "2e3"};
    std::string out = "\"";
    for (std::size_t n = Pick(5); n > 0; --n) out += kPieces[Pick(std::size(kPieces))];
    return out + "\"";
  }
  void Space(std::string& out) {
    if (Pick(4) == 0) out += Pick(2) ? " " : "\n\t";
  }
  void Value(std::string& out, int depth) {
    Space(out);
    switch (depth >= 4 ? 4 + Pick(4) : Pick(8)) {
      case 0:
      case 1: {
        out += '[';
        for (std::size_t i = 0, n = Pick(5); i < n; ++i) {
          if (i > 0) out += ',';
          Value(out, depth + 1);
        }
        out += ']';
        break;
      }
      case 2:
      case 3: {
        out += '{';
        for (std::size_t i = 0, n = Pick(5); i < n; ++i) {
          if (i > 0) out += ',';
          out += "\"k" + std::to_string(i) + "\":";
          Value(out, depth + 1);
        }
        out += '}';
        break;
      }
      case 4:
      case 5:
        out += Number();
        break;
      case 6:
        out += String();
        break;
      default:
        out += Pick(3) == 0 ? "null" : Pick(2) ? "true" : "false";
        break;
    }
    Space(out);
  }

  std::mt19937 random_;
};

// The number tokens of a JSON text, in order, outside strings.
std::vector<std::string> NumberTokens(std::string_view json) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < json.size();) {
    if (json[i] == '"') {
      for (++i; i < json.size() && json[i] != '"'; i += json[i] == '\\' ? 2 : 1) {
      }
      ++i;
    } else if (json[i] == '-' || (json[i] >= '0' && json[i] <= '9')) {
      const std::size_t end = json.find_first_not_of("0123456789+-.eE", i);
      out.emplace_back(json.substr(i, end - i));
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

std::string Event(const std::string& document) {
  return R"({"type":"CUSTOM","name":"p","timestamp":1,"value":)" + document + "}";
}

// The data line of a frame.
std::string DataOf(const std::string& frame) {
  const auto start = frame.find("data: ");
  return start == std::string::npos ? ""
                                    : frame.substr(start + 6, frame.find('\n', start) - start - 6);
}

void ExpectSameJson(const std::string& sent_event, const std::string& delivered) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(delivered, ec);
  ASSERT_FALSE(ec) << delivered;
  EXPECT_EQ(value, boost::json::parse(sent_event)) << delivered;
  EXPECT_EQ(NumberTokens(delivered), NumberTokens(sent_event))
      << "sent: " << sent_event << "\ndelivered: " << delivered;
}

TEST(NumbersLoopbackTest, RandomDocumentsArriveLiveAndReplayedWithEveryNumberAsSent) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  const std::uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomJson random(seed);

  const HttpReply first = PublishAgui(hub.port(), "alice", AguiText("alice", "m0", "start"));
  ASSERT_EQ(first.status, 200) << first.body;
  SseStream live(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_TRUE(live.WaitFrames(1).size() == 1);

  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {  // the webhook, one event each
    sent.push_back(Event(random.Document()));
    const std::string body = R"({"user_id":"alice",)" + sent.back().substr(1);
    const HttpReply reply = PublishAgui(hub.port(), "alice", body);
    ASSERT_EQ(reply.status, 200) << body << "\n" << reply.body;
  }
  std::string batch = "[";
  for (int i = 0; i < 20; ++i) {  // one JSON batch
    sent.push_back(Event(random.Document()));
    batch += std::string(i > 0 ? "," : "") + R"({"user_id":"alice","protocol":"agui","event":)" +
             sent.back() + "}";
  }
  HttpReply reply = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), batch + "]");
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_NE(reply.body.find("\"accepted\":20"), std::string::npos) << reply.body;
  std::string ndjson;
  for (int i = 0; i < 20; ++i) {  // one NDJSON batch: one item per line
    std::string document = random.Document();
    std::erase(document, '\n');
    sent.push_back(Event(document));
    ndjson += R"({"user_id":"alice","protocol":"agui","event":)" + sent.back() + "}\n";
  }
  reply = Request(
      hub.port(), "POST", kBatch,
      {{"Authorization", TestHub::Bearer("alice")}, {"Content-Type", "application/x-ndjson"}},
      ndjson);
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_NE(reply.body.find("\"accepted\":20"), std::string::npos) << reply.body;

  const auto live_frames = live.WaitFrames(1 + sent.size());
  ASSERT_EQ(live_frames.size(), 1 + sent.size());
  SseStream replay(hub.port(), kAguiStream, WithLastEventId(AuthAs("alice"), EventIdOf(first)));
  const auto replayed = replay.WaitFrames(1 + sent.size());
  ASSERT_EQ(replayed.size(), 1 + sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    ExpectSameJson(sent[i], DataOf(live_frames[1 + i]));
    ExpectSameJson(sent[i], DataOf(replayed[1 + i]));
  }
}

}  // namespace
}  // namespace herald::testing
