"""Test-only model builders on top of ``models.tiny``: add-ons (LoRA, VAE, embedding, ControlNet, upscaler), safety
models, and single-file checkpoints in the original LDM layout. Each is built in code from a seed; nothing is
downloaded."""
