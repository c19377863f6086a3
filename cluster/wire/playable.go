package wire

// A job has two clocks, both reported as sunomi_job_time_to_playable_seconds
// (seconds from the job's submission) with an audience label: its owner (and
// moderators) can watch once the farm has published every rendition's first
// segment, measured by the coordinators' leader; everyone else once the API
// has also screened the start of it, measured by the API.
const (
	TimeToPlayableMetric = "sunomi_job_time_to_playable_seconds"
	TimeToPlayableHelp   = "Time from a job's submission until it is playable, by audience: owner (every rendition's first segment published, seen by the farm's leader) or public (also screened, seen by the API)."
	AudienceOwner        = "owner"
	AudiencePublic       = "public"
)
