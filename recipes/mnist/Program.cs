System.Console.WriteLine("mnist recipe: under construction");
