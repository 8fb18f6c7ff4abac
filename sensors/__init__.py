"""What starts runs: schedules at the environment's cadences, and sensors."""
