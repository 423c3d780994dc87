// Object detection with SSD (Liu et al. 2016): work in progress.
Console.WriteLine("object-detection: not yet written");
return 1;
