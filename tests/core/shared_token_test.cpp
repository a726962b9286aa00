#include "core/shared_token.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace ezone {
namespace {

const std::string kToken = "0123456789abcdef0123";

// A file in a fresh directory, removed by the destructor.
struct TokenFile {
  explicit TokenFile(const std::string& text) {
    char tmpl[] = "/tmp/ezone-token-XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    path = dir + "/token";
    std::ofstream(path) << text;
  }
  ~TokenFile() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  std::string dir, path;
};

// Sets EZONE_ADMIN_TOKEN for one test and restores it after.
struct ScopedEnv {
  explicit ScopedEnv(const char* value) {
    if (const char* old = std::getenv(kAdminTokenEnv)) saved = old, had = true;
    if (value) ::setenv(kAdminTokenEnv, value, 1);
    else ::unsetenv(kAdminTokenEnv);
  }
  ~ScopedEnv() {
    if (had) ::setenv(kAdminTokenEnv, saved.c_str(), 1);
    else ::unsetenv(kAdminTokenEnv);
  }
  std::string saved;
  bool had = false;
};

TEST(SharedToken, ABearerHeaderMatchesOnlyTheWholeTokenWithABearerScheme) {
  const SharedToken token(kToken);
  const std::string right = bearer_authorization(kToken);
  EXPECT_EQ(right, "Bearer " + kToken);
  EXPECT_TRUE(bearer_matches(&right, token));
  const std::string lower = "bearer " + kToken, upper = "BEARER " + kToken;
  EXPECT_TRUE(bearer_matches(&lower, token));
  EXPECT_TRUE(bearer_matches(&upper, token));
  for (const std::string& bad : {std::string("Bearer ") + kToken.substr(1), "Bearer " + kToken + "0",
                                 "Bearer  " + kToken, "Basic " + kToken, kToken, std::string("Bearer"),
                                 std::string("")}) {
    EXPECT_FALSE(bearer_matches(&bad, token)) << "'" << bad << "'";
  }
  EXPECT_FALSE(bearer_matches(nullptr, token));
}

TEST(SharedToken, ATokenFileLosesItsTrailingNewlineAndIsChecked) {
  TokenFile good(kToken + "\n");
  auto read = read_token_file(good.path, "admin token");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->sent(), kToken);
  EXPECT_EQ(read->tokens().size(), 1u);

  TokenFile short_token("abc\n");
  auto refused = read_token_file(short_token.path, "admin token");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("the admin token must be 16 to 256 characters"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find(short_token.path), std::string::npos);

  TokenFile spaced("0123456789 abcdef0123\n");
  EXPECT_FALSE(read_token_file(spaced.path, "admin token").ok());
  auto missing = read_token_file(good.dir + "/none", "admin token");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
}

// Rotation: a file of two tokens sends the first and accepts either; three,
// or none, are refused.
TEST(SharedToken, ATokenFileOfTwoLinesSendsTheFirstAndAcceptsBoth) {
  const std::string next = "abcdefabcdefabcdef99";
  TokenFile pair(kToken + "\n\n" + next + "  \n");
  auto both = read_token_file(pair.path, "service token");
  ASSERT_TRUE(both.ok()) << both.status().to_string();
  EXPECT_EQ(both->sent(), kToken);
  EXPECT_TRUE(both->accepts(kToken));
  EXPECT_TRUE(both->accepts(next));
  EXPECT_FALSE(both->accepts(kToken + next));
  EXPECT_FALSE(both->accepts(""));
  const std::string with_next = "Bearer " + next;
  EXPECT_TRUE(bearer_matches(&with_next, *both));

  TokenFile three(kToken + "\n" + next + "\n" + "0000000000000000zz\n");
  auto refused = read_token_file(three.path, "service token");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("more than 2 service tokens"), std::string::npos)
      << refused.status().message();
  TokenFile blank("\n \n");
  EXPECT_FALSE(read_token_file(blank.path, "service token").ok());
  TokenFile one_bad(kToken + "\nshort\n");
  EXPECT_FALSE(read_token_file(one_bad.path, "service token").ok());

  // A client sends the first.
  auto client = client_service_token(pair.path, "--service-token-file");
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(*client, kToken);
  EXPECT_TRUE(SharedToken().empty());
  EXPECT_TRUE(SharedToken("").empty());
  EXPECT_FALSE(SharedToken().accepts(""));
}

TEST(SharedToken, AClientTakesTheFileFirstThenTheEnvironmentThenNone) {
  TokenFile file(kToken + "\n");
  {
    ScopedEnv env("fedcba9876543210fedc");
    auto from_file = client_admin_token(file.path, "--admin-token-file");
    ASSERT_TRUE(from_file.ok());
    EXPECT_EQ(*from_file, kToken);
    auto from_env = client_admin_token("", "--admin-token-file");
    ASSERT_TRUE(from_env.ok());
    EXPECT_EQ(*from_env, "fedcba9876543210fedc");
  }
  {
    ScopedEnv env(nullptr);
    auto none = client_admin_token("", "--admin-token-file");
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    auto unreadable = client_admin_token(file.dir + "/none", "--admin-token-file");
    ASSERT_FALSE(unreadable.ok());
    EXPECT_NE(unreadable.status().message().find("--admin-token-file"), std::string::npos);
  }
  {
    ScopedEnv env("too short");
    auto malformed = client_admin_token("", "--admin-token-file");
    ASSERT_FALSE(malformed.ok());
    EXPECT_NE(malformed.status().message().find(kAdminTokenEnv), std::string::npos);
  }
}

}  // namespace
TEST(LiveToken, AReloadReplacesTheTokensOfEveryCopyAndKeepsThemWhenTheFileIsBad) {
  const std::string next = "abcdefabcdefabcdef99";
  TokenFile file(kToken + "\n");
  auto read = read_token_file(file.path, "admin token");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  const LiveToken live = LiveToken::from_file(*read, file.path);
  const LiveToken copy = live;  // as the router's config holds the node's
  EXPECT_EQ(live.file(), file.path);
  ASSERT_TRUE(live.reload("admin token").ok());
  EXPECT_EQ(*live.reload("admin token"), TokenReload::unchanged);

  std::ofstream(file.path) << kToken << "\n" << next << "\n";  // rotation, step 1
  auto step1 = live.reload("admin token");
  ASSERT_TRUE(step1.ok()) << step1.status().to_string();
  EXPECT_EQ(*step1, TokenReload::changed);
  EXPECT_EQ(copy.sent(), kToken);
  EXPECT_TRUE(copy.accepts(next));
  const std::string bearer_next = "Bearer " + next;
  EXPECT_TRUE(bearer_matches(&bearer_next, copy));

  std::ofstream(file.path) << next << "\n";  // step 4
  EXPECT_EQ(*copy.reload("admin token"), TokenReload::changed);
  EXPECT_EQ(live.sent(), next);
  EXPECT_FALSE(live.accepts(kToken));

  // A bad file keeps the tokens in force, and says which file and why.
  for (const std::string& bad : {std::string("\n"), std::string("short\n"), kToken + "\n" + next + "\nzz" + next}) {
    std::ofstream(file.path) << bad;
    auto refused = live.reload("admin token");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find(file.path), std::string::npos) << refused.status().message();
    EXPECT_EQ(live.sent(), next) << bad;
    EXPECT_TRUE(live.accepts(next));
  }
  ::unlink(file.path.c_str());
  EXPECT_FALSE(live.reload("admin token").ok());
  EXPECT_EQ(live.sent(), next);
  EXPECT_FALSE(live.empty());
}

TEST(SharedToken, ATokenFileOthersMayReadIsSaidToBeExposed) {
  TokenFile file(kToken + "\n");
  ASSERT_EQ(::chmod(file.path.c_str(), 0600), 0);
  EXPECT_EQ(token_file_exposure(file.path), "");
  ASSERT_EQ(::chmod(file.path.c_str(), 0640), 0);
  EXPECT_EQ(token_file_exposure(file.path), "mode 0640: others than its owner may read it; chmod 600 it");
  ASSERT_EQ(::chmod(file.path.c_str(), 0604), 0);
  EXPECT_NE(token_file_exposure(file.path).find("mode 0604"), std::string::npos);
  EXPECT_EQ(token_file_exposure(file.dir + "/none"), "") << "reading it fails with its own error";
}

TEST(LiveToken, ATokenFromTheConfigOrNoneHasNothingToReload) {
  const LiveToken inline_token = kToken;
  EXPECT_EQ(*inline_token.reload("peer token"), TokenReload::not_a_file);
  EXPECT_EQ(inline_token.sent(), kToken);
  const LiveToken none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(*none.reload("peer token"), TokenReload::not_a_file);
  EXPECT_EQ(none.sent(), "");
  EXPECT_FALSE(none.accepts(""));
  EXPECT_STREQ(to_string(TokenReload::changed), "changed");
  EXPECT_STREQ(to_string(TokenReload::unchanged), "unchanged");
  EXPECT_STREQ(to_string(TokenReload::not_a_file), "not_a_file");
}

// Readers on other threads see the old tokens or the new ones, never a mix
// or a torn value, while reloads swap them.
TEST(LiveToken, ReadersSeeOneWholeTokenSetWhileReloadsRun) {
  const std::string a = "aaaaaaaaaaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  TokenFile file(a + "\n");
  const LiveToken live = LiveToken::from_file(*read_token_file(file.path, "peer token"), file.path);
  std::atomic<bool> done{false};
  std::atomic<int> mixed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      while (!done.load()) {
        auto s = live.snapshot();
        const std::string& sent = s->sent();
        if (!((sent == a && s->accepts(a) && !s->accepts(b)) || (sent == b && s->accepts(b) && !s->accepts(a))))
          mixed.fetch_add(1);
      }
    });
  int changes = 0;
  for (int i = 0; i < 400; ++i) {
    TokenFile next((i % 2 ? a : b) + "\n");
    ::rename(next.path.c_str(), file.path.c_str());
    auto r = live.reload("peer token");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    changes += *r == TokenReload::changed;
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(changes, 400);
  EXPECT_EQ(mixed.load(), 0);
}

}  // namespace ezone
