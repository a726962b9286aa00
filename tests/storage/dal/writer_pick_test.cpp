// The writer's choice of its next work (pick_jobs, dal_impl.hpp): groups of
// requests or of peers' batches, maintenance alone, and a maintenance job
// that rides groups (a check's chunk) taken into the next group of requests
// wherever it waits.
#include <gtest/gtest.h>

#include "storage/dal/dal_impl.hpp"

namespace ezone::dal {
namespace {

using Kind = Job::Kind;

std::unique_ptr<Job> job(Kind kind, bool rides = false) {
  auto j = std::make_unique<Job>();
  j->kind = kind;
  j->rides_group = rides;
  return j;
}

struct Queue {
  std::deque<std::unique_ptr<Job>> jobs;
  size_t riders = 0;
  Job* add(Kind kind, bool rides = false) {
    jobs.push_back(job(kind, rides));
    riders += rides ? 1 : 0;
    return jobs.back().get();
  }
};

TEST(WriterPickTest, ARiderJoinsTheNextGroupOfRequestsWhereverItWaits) {
  Queue q;
  Job* a = q.add(Kind::tx);
  Job* b = q.add(Kind::tx);
  q.add(Kind::apply);
  Job* rider = q.add(Kind::maintenance, true);
  q.add(Kind::tx);
  std::vector<std::unique_ptr<Job>> jobs;
  std::unique_ptr<Job> taken = pick_jobs(q.jobs, q.riders, 512, jobs);
  ASSERT_EQ(jobs.size(), 2u);  // the requests up to the batch
  EXPECT_EQ(jobs[0].get(), a);
  EXPECT_EQ(jobs[1].get(), b);
  EXPECT_EQ(taken.get(), rider);
  EXPECT_EQ(q.riders, 0u);
  ASSERT_EQ(q.jobs.size(), 2u);  // the batch and the last request, in order
  EXPECT_EQ(q.jobs[0]->kind, Kind::apply);
  EXPECT_EQ(q.jobs[1]->kind, Kind::tx);
}

TEST(WriterPickTest, ARiderFirstInTheQueueTakesTheRequestsBehindItElseRunsAlone) {
  Queue q;
  Job* rider = q.add(Kind::maintenance, true);
  Job* a = q.add(Kind::tx);
  std::vector<std::unique_ptr<Job>> jobs;
  EXPECT_EQ(pick_jobs(q.jobs, q.riders, 512, jobs).get(), rider);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].get(), a);
  EXPECT_EQ(q.riders, 0u);

  Queue alone;
  Job* lone = alone.add(Kind::maintenance, true);
  alone.add(Kind::apply);
  jobs.clear();
  EXPECT_EQ(pick_jobs(alone.jobs, alone.riders, 512, jobs), nullptr);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].get(), lone);
  EXPECT_EQ(alone.riders, 0u);
}

TEST(WriterPickTest, OtherMaintenanceRunsAloneAndBatchesAndGroupsAreBounded) {
  Queue q;
  Job* m = q.add(Kind::maintenance);
  q.add(Kind::tx);
  std::vector<std::unique_ptr<Job>> jobs;
  EXPECT_EQ(pick_jobs(q.jobs, q.riders, 512, jobs), nullptr);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].get(), m);

  Queue requests;
  for (int i = 0; i < 5; ++i) requests.add(Kind::tx);
  jobs.clear();
  EXPECT_EQ(pick_jobs(requests.jobs, requests.riders, 3, jobs), nullptr);
  EXPECT_EQ(jobs.size(), 3u);
  EXPECT_EQ(requests.jobs.size(), 2u);

  Queue batches;
  for (int i = 0; i < 20; ++i) batches.add(Kind::apply);
  batches.add(Kind::maintenance, true);
  jobs.clear();
  EXPECT_EQ(pick_jobs(batches.jobs, batches.riders, 512, jobs), nullptr) << "batches take no rider";
  EXPECT_GT(jobs.size(), 1u);
  EXPECT_LT(jobs.size(), 20u);  // kApplyBatchesPerTxMax
  EXPECT_EQ(batches.riders, 1u);
}

}  // namespace
}  // namespace ezone::dal
