package media

// Encoder names the H.264 encoders the pipeline knows how to drive.
const (
	EncoderAuto  = "auto"
	EncoderX264  = "libx264"
	EncoderNVENC = "h264_nvenc"
	EncoderQSV   = "h264_qsv"
)
