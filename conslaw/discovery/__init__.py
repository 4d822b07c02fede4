"""The discovery stage: segments, the surrogate null, fitting, judging and ranking candidate laws."""
