// Gauges the metrics page reads when scraped, from the store and from a replica's follower.
#ifndef CODEBOOK_SERVER_GAUGES_H_
#define CODEBOOK_SERVER_GAUGES_H_

#include <string>

#include "replica/follower.h"
#include "storage/store.h"

namespace codebook::server {

// Releases by state and the concepts of the newest published release, per code system; the
// release views held; what the database takes on disk and in memory.
void AppendStoreGauges(const storage::Store& store, std::string* out);
// Whether a read replica is in sync, releases behind per system, seconds since last in sync.
void AppendReplicaGauges(const replica::Follower& follower, std::string* out);

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_GAUGES_H_
