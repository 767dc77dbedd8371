"""Request and answer shapes of the drop-in APIs (OpenAI Images, AUTOMATIC1111); no project imports."""
