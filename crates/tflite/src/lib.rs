//! tflite
