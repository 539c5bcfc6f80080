// Proves the throwaway PostgreSQL harness against a real PostgreSQL 15 server.
#include "support/pg_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace herald::testing {
namespace {

using ::testing::HasSubstr;
using Rows = std::vector<std::string>;

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;

Connection Connect(const std::string& url) {
  return Connection(PQconnectdb((url + "?connect_timeout=10&sslmode=disable").c_str()));
}

// errno of a TCP connect to 127.0.0.1:port (0 when it connected).
int ConnectError(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int result = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  const int error = result == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

// A live, non-zombie process.
bool ProcessAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren != std::string::npos && text.compare(paren, 3, ") Z") != 0;
}

TEST(PgServerTest, DatabaseOfReturnsTheNameAfterTheLastSlash) {
  EXPECT_EQ(DatabaseOf("postgresql://postgres@127.0.0.1:5432/herald_test_7"), "herald_test_7");
  EXPECT_EQ(DatabaseOf("plain"), "plain");
}

TEST(PgServerTest, CreatedDatabaseRoundTripsCreateInsertSelect) {
  PgServer& server = PgServer::Shared();
  ASSERT_TRUE(server.running());
  const std::string url = server.CreateDatabase();
  EXPECT_EQ(url, "postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/" +
                     DatabaseOf(url));
  const std::string database = DatabaseOf(url);

  EXPECT_EQ(server.Query(database, "CREATE TABLE events (id bigint PRIMARY KEY, body text)"),
            Rows{});
  server.Query(database, "INSERT INTO events VALUES (2, 'two'), (1, 'one'), (3, NULL)");
  EXPECT_EQ(server.Query(database, "SELECT body, id FROM events ORDER BY id"),
            (Rows{"one", "two", ""}));
  EXPECT_EQ(server.Query(database, "SELECT body FROM events WHERE id > 100"), Rows{});

  // A client that only has the URL reaches the same data.
  const Connection connection = Connect(url);
  ASSERT_EQ(PQstatus(connection.get()), CONNECTION_OK) << PQerrorMessage(connection.get());
  PGresult* result = PQexec(connection.get(), "SELECT count(*) FROM events");
  ASSERT_EQ(PQresultStatus(result), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(result, 0, 0), "3");
  PQclear(result);
}

TEST(PgServerTest, QueryThrowsWithTheServerMessage) {
  PgServer& server = PgServer::Shared();
  const std::string database = DatabaseOf(server.CreateDatabase());
  try {
    server.Query(database, "SELECT * FROM no_such_table");
    FAIL() << "Query did not throw";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("relation \"no_such_table\" does not exist"));
  }
  EXPECT_THROW(server.Query("no_such_database", "SELECT 1"), std::runtime_error);
}

TEST(PgServerTest, TwoCreatedDatabasesAreDistinctAndIndependent) {
  PgServer& server = PgServer::Shared();
  const std::string first = DatabaseOf(server.CreateDatabase());
  const std::string second = DatabaseOf(server.CreateDatabase());
  ASSERT_NE(first, second);

  server.Query(first, "CREATE TABLE t (v text); INSERT INTO t VALUES ('first')");
  EXPECT_THROW(server.Query(second, "SELECT v FROM t"), std::runtime_error);  // empty database
  server.Query(second, "CREATE TABLE t (v text); INSERT INTO t VALUES ('second'), ('again')");

  EXPECT_EQ(server.Query(first, "SELECT v FROM t"), Rows{"first"});
  EXPECT_EQ(server.Query(second, "SELECT v FROM t ORDER BY v"), (Rows{"again", "second"}));
  EXPECT_EQ(server.Query(first, "SELECT current_database()"), Rows{first});
  EXPECT_EQ(server.Query(second, "SELECT current_database()"), Rows{second});
}

TEST(PgServerTest, StopThenStartKeepsDataAndPort) {
  PgServer server;  // its own server: stopping the shared one would disturb other tests
  const unsigned short port = server.port();
  const std::string database = DatabaseOf(server.CreateDatabase());
  server.Query(database, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");

  server.Stop();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(ConnectError(port), ECONNREFUSED);
  EXPECT_THROW(server.Query(database, "SELECT 1"), std::runtime_error);
  server.Stop();  // idempotent
  EXPECT_FALSE(server.running());

  server.Start();
  EXPECT_TRUE(server.running());
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(server.Query(database, "SELECT v FROM kept"), Rows{"42"});
  server.Start();  // already running: nothing to do
  EXPECT_EQ(server.Query(database, "SELECT v FROM kept"), Rows{"42"});
}

TEST(PgServerTest, StartReportsAPortTakenWhileStoppedAndSucceedsOnceItIsFree) {
  PgServer server;
  const unsigned short port = server.port();
  server.Stop();

  const int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));  // past any TIME_WAIT
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(squatter, 1), 0);
  try {
    server.Start();
    FAIL() << "Start did not throw";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("port " + std::to_string(port) + " is taken"));
  }
  EXPECT_FALSE(server.running());
  ::close(squatter);

  server.Start();
  EXPECT_TRUE(server.running());
  EXPECT_EQ(server.Query("postgres", "SELECT 1"), Rows{"1"});
}

TEST(PgServerTest, TerminateConnectionsEndsAnotherOpenConnection) {
  PgServer& server = PgServer::Shared();
  const std::string url = server.CreateDatabase();
  const std::string database = DatabaseOf(url);
  EXPECT_EQ(server.TerminateConnections(database), 0);

  const Connection victim = Connect(url);
  ASSERT_EQ(PQstatus(victim.get()), CONNECTION_OK) << PQerrorMessage(victim.get());
  const Connection bystander =
      Connect("postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/postgres");
  ASSERT_EQ(PQstatus(bystander.get()), CONNECTION_OK);

  EXPECT_EQ(server.TerminateConnections(database), 1);

  PGresult* result = PQexec(victim.get(), "SELECT 1");
  EXPECT_EQ(PQresultStatus(result), PGRES_FATAL_ERROR);
  PQclear(result);
  EXPECT_EQ(PQstatus(victim.get()), CONNECTION_BAD);
  // A connection to another database is untouched.
  result = PQexec(bystander.get(), "SELECT 1");
  EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK);
  PQclear(result);
  EXPECT_EQ(server.TerminateConnections(database), 0);
}

TEST(PgServerTest, DestroyedServerRemovesItsDirectoryAndRefusesConnections) {
  auto server = std::make_unique<PgServer>();
  const unsigned short port = server->port();
  const std::filesystem::path data = server->Query("postgres", "SHOW data_directory").at(0);
  const std::filesystem::path directory = data.parent_path();
  ASSERT_TRUE(std::filesystem::exists(data / "postmaster.pid"));
  pid_t postmaster = 0;
  std::ifstream(data / "postmaster.pid") >> postmaster;
  ASSERT_GT(postmaster, 0);
  ASSERT_TRUE(ProcessAlive(postmaster));
  EXPECT_EQ(ConnectError(port), 0);

  server.reset();

  EXPECT_FALSE(std::filesystem::exists(directory)) << directory;
  EXPECT_EQ(ConnectError(port), ECONNREFUSED);
  // pg_ctl -w returns once postmaster.pid is gone, a moment before the process exits.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ProcessAlive(postmaster) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(ProcessAlive(postmaster));
}

}  // namespace
}  // namespace herald::testing
