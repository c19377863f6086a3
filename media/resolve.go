package media

import "slices"

// ChooseEncoder is the encoder a task that requested one runs with on a host
// offering have: the requested one when the host has it; otherwise — auto,
// or a name the host cannot open — the best the host has, hardware first,
// else libx264, which every host has.
func ChooseEncoder(requested string, have []string) string {
	if slices.Contains(have, requested) {
		return requested
	}
	for _, hw := range HardwareEncoders() {
		if slices.Contains(have, hw) {
			return hw
		}
	}
	return EncoderX264
}
