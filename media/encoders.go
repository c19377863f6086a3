package media

// The H.264 encoders the pipeline drives, by their libavcodec names. They
// are spelled here once: the encoder package opens them, the scheduler
// places tasks by them, and agents advertise them.
const (
	// EncoderAuto asks for the preferred hardware encoder available, else
	// libx264.
	EncoderAuto  = "auto"
	EncoderX264  = "libx264"
	EncoderNVENC = "h264_nvenc"
	EncoderQSV   = "h264_qsv"
)

// HardwareEncoders returns the hardware H.264 encoders in order of
// preference: what EncoderAuto tries before falling back to libx264.
func HardwareEncoders() []string { return []string{EncoderNVENC, EncoderQSV} }

// Hardware reports whether an encoder runs on a GPU or media engine rather
// than the CPU. Chunks of one rung should come from one family: hardware and
// software encoders make different streams (profile, level, GOP details).
func Hardware(name string) bool {
	return name == EncoderNVENC || name == EncoderQSV
}

// EncoderSVTAV1 is the AV1 encoder: SVT-AV1 through libavcodec. It runs on
// the CPU on every host whose libavcodec has it built in.
const EncoderSVTAV1 = "libsvtav1"
